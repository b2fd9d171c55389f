"""Related ideas (`views._link_related`): most shared tags in the same challenge, then newest, then by slug."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, cast

from generator.views import IdeaView, _link_related


def idea(slug: str, challenge: str, tags: list[str], day: int) -> Any:
    return SimpleNamespace(
        date=dt.date(2026, 1, day), entry=SimpleNamespace(slug=slug, meta=SimpleNamespace(challenge=challenge, tags=tags)), related=[]
    )


def related(ideas: list[Any], limit: int = 3) -> dict[str, list[str]]:
    _link_related(cast(list[IdeaView], ideas), limit)
    return {i.entry.slug: [r.entry.slug for r in i.related] for i in ideas}


def test_most_shared_tags_first_then_newest_then_by_slug_never_itself_nor_another_challenge() -> None:
    ideas = [
        idea("me", "basics", ["rota", "paper", "it"], 1),
        idea("two-tags-old", "basics", ["rota", "paper"], 2),
        idea("one-tag-new", "basics", ["it"], 9),
        idea("one-tag-b", "basics", ["rota"], 5),
        idea("one-tag-a", "basics", ["paper"], 5),
        idea("other-challenge", "training", ["rota", "paper", "it"], 10),
        idea("no-tags", "basics", [], 11),
    ]
    found = related(ideas)
    assert found["me"] == ["two-tags-old", "one-tag-new", "one-tag-a"]
    assert found["other-challenge"] == []
    assert found["no-tags"] == []
    assert found["one-tag-new"] == ["me"]


def test_the_limit_is_kept() -> None:
    ideas = [idea(f"idea-{n}", "basics", ["rota"], n + 1) for n in range(6)]
    found = related(ideas, limit=2)
    assert found["idea-0"] == ["idea-5", "idea-4"]
    assert all(len(slugs) == 2 for slugs in found.values())


def test_ideas_of_the_same_day_are_taken_newest_first_then_by_slug_from_the_last() -> None:
    """Candidates are the newest 4 × limit (and one) ideas of each tag; among ideas of one day, from the last slug."""
    ideas = [idea(chr(ord("a") + n), "basics", ["rota"], 1) for n in range(20)]
    found = related(ideas)
    assert found["a"] == ["h", "i", "j"], "h to t are the candidates; the first by slug are shown"
    assert found["t"] == ["h", "i", "j"]
