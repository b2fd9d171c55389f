"""A replay checks the reads of one access of one kind of view in one go (`Replay._check_run`).

Whatever the path, it must find exactly the reads a read-by-read check finds:
these tests record reads as the theme's environment does, number them in runs
as a compacted manifest does, change the views in every way a template would
show differently, and compare the two.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from jinja2 import Environment

from generator.manifest import Manifest, PageRecord
from generator.reads import ENTRY, IDENTIFIED, Recorder, Replay, Tables, from_entry, grouped_order, run_key, same_texts, token


@dataclass
class FakeEntry:
    digest: str


@dataclass(eq=False)
class Card:
    """A view as `generator.views` makes them: known by kind and slug, some attributes from its content file alone."""

    slug: str
    title: str
    count: int
    entry: FakeEntry
    related: list[Card] = field(default_factory=list)
    summary: str | None = None

    @property
    def read_identity(self) -> str:
        return f"Card:{self.slug}"

    @property
    @from_entry
    def html(self) -> str:
        return f"<p>{self.slug}</p>"


IDENTIFIED.add(Card)


class Listing(dict[str, Any]):
    """A view read by item (`listing["key"]`): its reads are not attribute reads."""

    read_identity = "Listing:all"


IDENTIFIED.add(Listing)

READS = ("title", "count", "related", "summary")


def cards() -> dict[str, Card]:
    made = {slug: Card(slug, f"Idea {slug}", n, FakeEntry(f"digest-{slug}")) for n, slug in enumerate(["a", "b", "c", "d", "e"])}
    made["a"].related = [made["b"], made["c"]]
    made["b"].summary = "short"
    made["c"].summary = "y" * 200  # long: its token is a hash (bytes)
    return made


def recorded(objects: dict[str, Any]) -> Tables:
    """What rendering one page per card recorded: its attributes, its file (`html`) and an item of the listing."""
    recorder = Recorder({})
    from generator.reads import FROM_ENTRY

    FROM_ENTRY[Card] = frozenset({"html"})
    pages = {}
    for view in objects.values():
        if not isinstance(view, Card):
            continue
        with recorder.page({}) as seen:
            for name in READS:
                recorder.attribute(view, name, getattr(view, name))
            recorder.attribute(view, "html", view.html)
            recorder.item(objects["Listing:all"], '["top"', objects["Listing:all"]["top"])
        pages[view.slug] = PageRecord("", False, tuple(sorted(seen.pairs)), (), {})
    manifest = Manifest("code", recorder.tables, pages)
    manifest.compact()  # never compacted: numbered in runs
    return manifest.tables


def by_identity(made: dict[str, Card]) -> dict[str, Any]:
    objects: dict[str, Any] = {card.read_identity: card for card in made.values()}
    objects["Listing:all"] = Listing(top="a")
    return objects


def changed(tables: Tables, objects: dict[str, Any]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The reads that changed, found in runs and found one by one (identity, access)."""
    env = Environment()
    flat = dataclasses.replace(tables, grouped=0, runs=[])
    found = []
    for numbered in (tables, flat):
        replay = Replay(env, numbered, objects, {})
        found.append({(numbered.pairs[2 * n], numbered.pairs[2 * n + 1]) for n in replay.changed_pairs})
    return found[0], found[1]


def test_compacted_reads_are_numbered_in_runs_of_one_access_of_one_kind() -> None:
    objects = by_identity(cards())
    tables = recorded(objects)
    assert tables.grouped == len(tables.tokens) and tables.runs[0] == 0
    keys = [run_key(tables.pairs[2 * start], tables.pairs[2 * start + 1]) for start, _ in tables.run_bounds()]
    assert len(keys) == len(set(keys)) == len(READS) + 2, "a run per attribute read, one for the files, one for the listing"
    for start, stop in tables.run_bounds():
        assert len({run_key(tables.pairs[2 * n], tables.pairs[2 * n + 1]) for n in range(start, stop)}) == 1
    assert ("Card", ENTRY) in keys and ("Listing", '["top"') in keys
    order, starts = grouped_order(["Card:b", ".title", "Card:a", ".title", "idea/a", ".title"], [2, 1, 0])
    assert order == [1, 0, 2] and starts == [0, 2], "by identity within a run; the views' reads apart from the front matter's"


def test_grouped_order_is_the_order_of_kind_access_identity_and_number() -> None:
    """The runs' order is defined as sorting each read's (kind, access, identity, number): the quicker way gives that order."""
    rng = random.Random(7)
    identities = ["Card:a", "Card:b", "IdeaView:x", "idea/x", "idea/y", "comment/TH-1", "root", "Listing:/"]
    accesses = ["", ".title", ".date", '["top"', "#"]
    pairs = [part for _ in range(2_000) for part in (rng.choice(identities), rng.choice(accesses))]
    numbers = rng.sample(range(2_000), 1_500)  # not every read, and not in order
    expected = sorted((*run_key(pairs[2 * n], pairs[2 * n + 1]), pairs[2 * n], n) for n in numbers)
    order, starts = grouped_order(pairs, set(numbers))
    assert order == [n for *_, n in expected]
    assert starts == [i for i in range(len(expected)) if i == 0 or expected[i][:2] != expected[i - 1][:2]]


def test_nothing_changed_is_found_unchanged() -> None:
    objects = by_identity(cards())
    assert changed(recorded(objects), objects) == (set(), set())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda made: setattr(made["c"], "title", "Another title"), {("Card:c", ".title")}),
        (lambda made: setattr(made["d"], "count", True), {("Card:d", ".count")}),  # 3 → True: equal numbers, shown differently
        (lambda made: setattr(made["b"], "count", 1.0), {("Card:b", ".count")}),  # 1 → 1.0
        (lambda made: setattr(made["b"], "summary", "x" * 200), {("Card:b", ".summary")}),  # a short text grown long: a hashed token
        (lambda made: setattr(made["e"], "summary", "short"), {("Card:e", ".summary")}),
        (lambda made: setattr(made["c"], "summary", token("y" * 200)), {("Card:c", ".summary")}),  # a value equal to a hashed token is not that text
        (lambda made: made["a"].related.reverse(), {("Card:a", ".related")}),
        (lambda made: setattr(made["a"], "related", [made["b"], made["d"]]), {("Card:a", ".related")}),
        (lambda made: setattr(made["e"], "entry", FakeEntry("digest-edited")), {("Card:e", ENTRY)}),
        (lambda made: setattr(made["e"], "entry", FakeEntry("")), {("Card:e", ENTRY)}),
    ],
)
def test_every_change_a_page_would_show_is_found_in_runs_as_one_by_one(change: Any, expected: set[tuple[str, str]]) -> None:
    made = cards()
    objects = by_identity(made)
    tables = recorded(objects)
    change(made)
    in_runs, one_by_one = changed(tables, objects)
    assert in_runs == one_by_one == expected


def test_a_view_gone_changes_every_read_of_it() -> None:
    made = cards()
    objects = by_identity(made)
    tables = recorded(objects)
    del objects["Card:d"]
    in_runs, one_by_one = changed(tables, objects)
    assert in_runs == one_by_one == {("Card:d", access) for access in (*(f".{name}" for name in READS), ENTRY)}


def test_an_attribute_gone_is_looked_up_as_jinja_would() -> None:
    """An object that no longer has the attribute: Jinja's getattr falls back to an item, which the replay follows."""
    made = cards()
    objects = by_identity(made)
    tables = recorded(objects)

    class ItemCard(dict[str, Any]):
        read_identity = "Card:c"

    IDENTIFIED.add(ItemCard)
    objects["Card:c"] = ItemCard(title="Idea c", count=2, related=[], summary="y" * 200)
    objects["Card:c"].entry = made["c"].entry  # type: ignore[attr-defined]
    in_runs, one_by_one = changed(tables, objects)
    assert in_runs == one_by_one == set(), "the same values, found by item"
    objects["Card:c"]["count"] = 7
    in_runs, one_by_one = changed(tables, objects)
    assert in_runs == one_by_one == {("Card:c", ".count")}


def test_reads_added_after_the_last_compaction_are_checked_one_by_one() -> None:
    made = cards()
    objects = by_identity(made)
    tables = recorded(objects)
    recorder = Recorder({}, tables)
    with recorder.page({}):
        recorder.attribute(made["e"], "title", made["e"].title)  # a read again, numbered after the runs
    assert len(tables.tokens) == tables.grouped + 1
    made["e"].title = "Renamed"
    in_runs, one_by_one = changed(tables, objects)
    assert in_runs == one_by_one == {("Card:e", ".title")}
    assert token("Renamed") == "Renamed"


def test_compaction_drops_reads_no_page_uses_and_keeps_each_pages_reads() -> None:
    """Once the tables have doubled, the reads no page uses go, the others are numbered in runs again, and each page reads the same."""
    made = cards()
    objects = by_identity(made)
    tables = recorded(objects)
    manifest = Manifest("code", tables, {}, 0)
    recorder = Recorder({}, tables)
    for slug, view in made.items():  # every page rendered again: its reads numbered anew, after the runs
        with recorder.page({}) as seen:
            for name in READS:
                recorder.attribute(view, name, getattr(view, name))
        manifest.pages[slug] = PageRecord("", False, tuple(sorted(seen.pairs)), (), {})
    manifest.compacted = len(tables.tokens) // 2 - 1
    before = {url: manifest.reads_of(url) for url in manifest.pages}
    assert tables.grouped < len(tables.tokens)
    manifest.compact()
    after = manifest.tables
    assert {url: manifest.reads_of(url) for url in manifest.pages} == before
    assert len(after.tokens) == len(made) * len(READS) == after.grouped == manifest.compacted, "the first renderings' reads are gone"
    assert after.runs == [n * len(made) for n in range(len(READS))]
    assert changed(after, objects) == (set(), set())


def test_front_matter_read_whole_is_compared_by_identity() -> None:
    """`view.meta` read whole is the file's front matter, known by identity (`known_models`): another file's, or one
    no longer known, is a change."""
    from pydantic import BaseModel

    from generator.reads import known_models

    class Meta(BaseModel):
        title: str

    made = cards()
    metas = {slug: Meta(title=slug) for slug in made}
    known_models((meta, f"card/{slug}") for slug, meta in metas.items())
    for slug, card in made.items():
        card.meta = metas[slug]  # type: ignore[attr-defined]
    objects = by_identity(made)
    recorder = Recorder({})
    pages = {}
    for slug, card in made.items():
        with recorder.page({}) as seen:
            recorder.attribute(card, "meta", card.meta)  # type: ignore[attr-defined]
        pages[slug] = PageRecord("", False, tuple(sorted(seen.pairs)), (), {})
    manifest = Manifest("code", recorder.tables, pages)
    manifest.compact()
    tables = manifest.tables
    assert tables.runs == [0] and tables.tokens[0] == token(metas["a"])
    assert changed(tables, objects) == (set(), set())
    made["b"].meta = metas["c"]  # type: ignore[attr-defined]
    made["d"].meta = Meta(title="d")  # type: ignore[attr-defined]  # equal fields, but not a known file's
    in_runs, one_by_one = changed(tables, objects)
    assert in_runs == one_by_one == {("Card:b", ".meta"), ("Card:d", ".meta")}


def _found(replay: Replay, tables: Tables) -> set[tuple[str, str]]:
    return {(tables.pairs[2 * n], tables.pairs[2 * n + 1]) for n in replay.changed_pairs}


def test_a_views_file_read_is_skipped_only_while_its_text_is_the_one_recorded() -> None:
    """A read of a view's file (`ENTRY`) is not evaluated while the replay's texts give that file the hash it was
    recorded with (`Tables.models`); a file edited, read again by a page, then edited back is followed each time."""
    made = cards()
    objects = by_identity(made)
    tables = recorded(objects)
    assert tables.models == {card.read_identity: card.entry.digest for card in made.values()}, "each file read keeps its hash"
    texts = dict(tables.models)
    env = Environment()
    objects["Card:a"] = dataclasses.replace(made["a"], entry=FakeEntry("not looked at"))
    assert _found(Replay(env, tables, objects, {}, texts), tables) == set(), "the text is the one recorded: the read is not evaluated"
    objects["Card:a"] = made["a"]

    made["e"].entry, texts["Card:e"] = FakeEntry("digest-e1"), "digest-e1"  # edited
    assert _found(Replay(env, tables, objects, {}, texts), tables) == {("Card:e", ENTRY)}
    recorder = Recorder({}, tables)
    with recorder.page({}):  # its page rendered again, reading the file and nothing else of it
        recorder.attribute(made["e"], "html", made["e"].html)
    assert tables.models["Card:e"] == "digest-e1"
    newest = len(tables.tokens) - 1
    assert tables.pairs[2 * newest : 2 * newest + 2] == ["Card:e", ENTRY] and tables.tokens[newest] == "digest-e1"
    assert newest not in Replay(env, tables, objects, {}, texts).changed_pairs, "no page holds the read of the text before now"

    made["e"].entry, texts["Card:e"] = FakeEntry("digest-e"), "digest-e"  # edited back: the page's read is of the other text
    assert newest in Replay(env, tables, objects, {}, texts).changed_pairs


@pytest.mark.parametrize(
    "texts",
    [
        {"idea/a": "1", "idea/b": "2", "Card:a": "1", "Card:b": "2"},  # nothing changed
        {"idea/a": "1", "idea/b": "2b", "Card:a": "1", "Card:b": "2b"},  # b edited
        {"idea/a": "1", "idea/b": "2", "Card:a": "1", "Card:b": "2", "idea/c": "3", "Card:c": "3"},  # c added
        {"idea/a": "1", "Card:a": "1"},  # b removed
        {"idea/a": "1", "Card:a": "1", "idea/c": "3", "Card:c": "3"},  # b removed, c added: as many as before
        {},
    ],
)
def test_texts_are_compared_as_one_by_one(texts: dict[str, str]) -> None:
    """`same_texts` holds the few identities that differ, not the many the same: it must answer as comparing each would."""
    known = {"idea/a": "1", "idea/b": "2", "Card:a": "1", "Card:b": "2"}
    same = same_texts(known, texts)
    expected = {identity for identity, digest in known.items() if texts.get(identity) == digest}
    asked = [*known, *texts, "idea/z", "Card:z"]
    assert {identity for identity in asked if identity in same} == expected
    assert same.flags(asked) == [identity in expected for identity in asked]
    assert same.edited == {identity for identity, digest in texts.items() if ":" in identity and known.get(identity) != digest}
