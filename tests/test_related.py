"""Related ideas (`views._link_related`): most shared tags in the same challenge, then newest, then by slug."""

from __future__ import annotations

import datetime as dt
import random
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


def test_ideas_sharing_a_challenge_and_tags_each_get_what_ranking_them_alone_gives() -> None:
    """Ideas with the same challenge and tags are ranked together; each still gets the definition's answer, never itself."""
    rng = random.Random(13)
    tags = ["rota", "paper", "it", "leave", "food"]
    ideas = [idea(f"idea-{n:03}", rng.choice(["basics", "training"]), rng.sample(tags, rng.randint(0, 3)), rng.randint(1, 28)) for n in range(300)]
    found = related(ideas)
    ranked = sorted(ideas, key=lambda i: (-i.date.toordinal(), i.entry.slug))
    newest = {}
    for candidate in sorted(ideas, key=lambda i: (i.date, i.entry.slug), reverse=True):
        for tag in candidate.entry.meta.tags:
            bucket = newest.setdefault((candidate.entry.meta.challenge, tag), [])
            if len(bucket) <= 12:
                bucket.append(candidate.entry.slug)
    for each in ideas:
        meta = each.entry.meta
        shared = {
            other.entry.slug: sum(other.entry.slug in newest.get((meta.challenge, tag), []) for tag in meta.tags)
            for other in ranked
            if other is not each
        }
        expected = [slug for slug, count in sorted(shared.items(), key=lambda item: -item[1]) if count][:3]
        assert found[each.entry.slug] == expected, each.entry.slug
    assert sum(len(slugs) for slugs in found.values()) > 500, "most ideas have related ideas"
