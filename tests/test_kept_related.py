"""Related ideas kept between builds (`generator.keptrelated`): taken back only for the inputs they were found for."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from generator.keptrelated import RelatedStore, related_file, related_inputs
from generator.views import IdeaView, _link_related

TAGS = ["rota", "paper", "it", "parking", "training"]


def sample(changes: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    """Twenty ideas in two challenges sharing tags, fresh objects each call (as each build makes its views anew)."""
    ideas = []
    for n in range(20):
        fields: dict[str, Any] = {"challenge": "basics" if n % 3 else "training", "tags": [TAGS[n % 5], TAGS[(n * 2) % 5]], "day": 1 + n % 9}
        fields.update((changes or {}).get(f"idea-{n:02d}", {}))
        meta = SimpleNamespace(challenge=fields["challenge"], tags=fields["tags"])
        ideas.append(SimpleNamespace(date=dt.date(2026, 3, fields["day"]), entry=SimpleNamespace(slug=f"idea-{n:02d}", meta=meta), related=[]))
    return ideas


def found_afresh(ideas: list[Any]) -> dict[str, list[str]]:
    _link_related(cast(list[IdeaView], ideas))
    return slugs(ideas)


def slugs(ideas: list[Any]) -> dict[str, list[str]]:
    return {i.entry.slug: [r.entry.slug for r in i.related] for i in ideas}


def link(store: RelatedStore, ideas: list[Any]) -> bool:
    return store.link(cast(list[IdeaView], ideas))


def test_kept_related_ideas_are_taken_back_for_the_same_inputs_and_are_the_same_objects_of_this_build(tmp_path: Path) -> None:
    store = RelatedStore(related_file(tmp_path), "code-1")
    first = sample()
    assert link(store, first) is False, "nothing was kept yet"
    assert slugs(first) == found_afresh(sample())
    again = sample()
    assert link(store, again) is True
    assert slugs(again) == found_afresh(sample())
    assert all(other in again for idea in again for other in idea.related), "linked to this build's views, not to copies"
    assert any(idea.related for idea in again)


@pytest.mark.parametrize(
    "changes",
    [
        {"idea-04": {"tags": ["parking"]}},
        {"idea-04": {"challenge": "training"}},
        {"idea-04": {"day": 9}},
    ],
    ids=["a tag", "a challenge", "a date"],
)
def test_a_changed_input_finds_the_related_ideas_afresh(tmp_path: Path, changes: dict[str, dict[str, Any]]) -> None:
    store = RelatedStore(related_file(tmp_path), "code-1")
    link(store, sample())
    changed = sample(changes)
    assert link(store, changed) is False
    assert slugs(changed) == found_afresh(sample(changes))
    assert slugs(changed) != found_afresh(sample()), "the sample's change is one that moves a related idea"
    assert link(store, sample(changes)) is True, "kept again for the new inputs"


def test_an_idea_added_or_removed_or_the_order_changed_finds_them_afresh(tmp_path: Path) -> None:
    store = RelatedStore(related_file(tmp_path), "code-1")
    link(store, sample())
    fewer = sample()[:-1]
    assert link(store, fewer) is False and slugs(fewer) == found_afresh(sample()[:-1])
    backwards = sample()[::-1]
    assert link(store, backwards) is False and slugs(backwards) == found_afresh(sample()[::-1])


def test_other_code_or_a_clean_build_does_not_use_what_is_kept(tmp_path: Path) -> None:
    link(RelatedStore(related_file(tmp_path), "code-1"), sample())
    assert link(RelatedStore(related_file(tmp_path), "code-2"), sample()) is False
    assert link(RelatedStore(related_file(tmp_path), "code-2", reuse=False), sample()) is False
    assert link(RelatedStore(related_file(tmp_path), "code-2"), sample()) is True, "the clean build kept what it found"


@pytest.mark.parametrize(
    "data",
    [b"not a pickle", pickle.dumps("text"), pickle.dumps((b"key", [[0]])), None],
    ids=["garbage", "another shape", "another key", "places out of range"],
)
def test_an_unreadable_or_wrong_file_is_an_empty_one(tmp_path: Path, data: bytes | None) -> None:
    store = RelatedStore(related_file(tmp_path), "code-1")
    link(store, sample())
    path = related_file(tmp_path)
    if data is None:  # the right key, with a place past the last idea
        key, places = pickle.loads(path.read_bytes())
        places[0] = [len(places)]
        data = pickle.dumps((key, places))
    path.write_bytes(data)
    ideas = sample()
    assert link(store, ideas) is False
    assert slugs(ideas) == found_afresh(sample())


class Recording:
    """Wraps an object and records the attribute paths read from it (`entry.meta.tags`, say)."""

    def __init__(self, wrapped: Any, path: str, seen: set[str]) -> None:
        object.__setattr__(self, "_wrapped", wrapped)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_seen", seen)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._wrapped, name)
        path = f"{self._path}{name}"
        self._seen.add(path)
        return Recording(value, path + ".", self._seen) if isinstance(value, SimpleNamespace) else value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._wrapped, name, value)


def test_the_key_covers_every_field_the_ranking_reads() -> None:
    """Fails when `_link_related` starts reading a field `related_inputs` does not hash: kept answers would go stale."""
    seen: set[str] = set()
    _link_related(cast(list[IdeaView], [Recording(idea, "", seen) for idea in sample()]))
    hashed = {"entry", "entry.meta", "entry.slug", "entry.meta.challenge", "entry.meta.tags", "date"}
    assert seen <= hashed, f"read but not in the key: {sorted(seen - hashed)}"


def test_equal_inputs_give_the_same_key_whichever_strings_are_one_object() -> None:
    """Entries parsed from their files hold a string per tag; entries from one pack of the content cache share them."""
    apart = sample()
    shared = sample()
    for idea in apart:  # each tag a string object of its own
        idea.entry.meta.tags = ["".join(list(tag)) for tag in idea.entry.meta.tags]
    one = {tag: tag for tag in TAGS}
    for idea in shared:
        idea.entry.meta.tags = [one[tag] for tag in idea.entry.meta.tags]
    assert related_inputs(cast(list[IdeaView], apart), "code") == related_inputs(cast(list[IdeaView], shared), "code")
