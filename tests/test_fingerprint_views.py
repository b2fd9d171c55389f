"""`reads.fingerprint` of containers of views: the one-go paths give the very bytes the item-by-item walk gives."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest

from generator.reads import IDENTIFIED, fingerprint


@dataclass(eq=False)
class Card:
    slug: str

    @property
    def read_identity(self) -> str:
        return f"Card:{self.slug}"


IDENTIFIED.add(Card)


def stream(value: Any) -> bytes:
    """The bytes `_describe` feeds the hash, walking every container item by item (its documented format)."""
    kind = type(value)
    if kind in IDENTIFIED:
        return b"@" + value.read_identity.encode()
    if kind is str:
        return b"s" + value.encode() + b"\x1f"
    if kind is int:
        return repr(value).encode()
    if kind is list or kind is tuple:
        return (b"[" if kind is list else b"(") + b"".join(stream(item) + b"," for item in value) + b"]"
    return b"{" + b"".join(stream(key) + b":" + stream(item) + b"," for key, item in value.items()) + b"}"


def walk(value: Any) -> str:
    return hashlib.blake2b(stream(value), digest_size=8).hexdigest()


CARDS = [Card("a"), Card("b-é"), Card("c")]


@pytest.mark.parametrize(
    "value",
    [
        CARDS,
        [],
        tuple(CARDS),
        {"a": CARDS[0], "b-é": CARDS[1]},
        {},
        {"a": CARDS[0], "n": 3},
        {"a": CARDS, "b": []},
    ],
    ids=["views", "empty list", "views in a tuple", "views by slug", "empty dict", "a dict of views and a number", "lists of views by tag"],
)
def test_containers_of_views_give_the_bytes_of_the_item_by_item_walk(value: Any) -> None:
    assert fingerprint(value) == walk(value)


def test_a_list_with_one_item_that_is_not_a_view_is_walked_item_by_item() -> None:
    mixed = [CARDS[0], "text", 3]
    assert fingerprint(mixed) == walk(mixed)
    assert fingerprint({"a": "text"}) == walk({"a": "text"})


def test_a_changed_view_in_a_container_changes_its_fingerprint() -> None:
    assert fingerprint({"a": CARDS[0]}) != fingerprint({"a": CARDS[1]})
    assert fingerprint(CARDS) != fingerprint(CARDS[::-1])
    assert fingerprint({"a": CARDS}) != fingerprint({"a": CARDS[:2]})
