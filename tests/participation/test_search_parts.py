"""A large site's search index is built in parts (to bound Pagefind's memory) and the search page merges them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator import search_parts
from generator.build import build
from generator.search_parts import part_count

from ..conftest import BUILD_NOW, copy_sample
from .conftest import Content, serving
from .test_search import pages_with_body

PART_IDEAS = 10


@pytest.fixture(scope="module")
def parted_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_sample(tmp_path_factory.mktemp("parted") / "repo")
    with (repo / "site.yml").open("a", encoding="utf-8") as settings:
        settings.write(f"\nsearch_part_ideas: {PART_IDEAS}\n")
    out = repo.parent / "site"
    build(repo, out, now=BUILD_NOW)
    return out


@pytest.fixture(scope="module")
def parted_served(parted_site: Path) -> Iterator[str]:
    with serving(parted_site) as base:
        yield base


def page_count(bundle: Path) -> int:
    return json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))["languages"]["en-gb"]["page_count"]


def test_every_indexed_page_is_in_exactly_one_part(parted_site: Path, content: Content) -> None:
    bundle = parted_site / "pagefind"
    parts = sorted(bundle.glob("part-*"), key=lambda p: int(p.name.split("-")[1]))
    expected = part_count(len(content.ideas), PART_IDEAS) - 1
    assert expected >= 2
    assert [p.name for p in parts] == [f"part-{n}" for n in range(1, expected + 1)]
    sizes = Counter(part_of(content).values())
    assert [page_count(part) for part in parts] == [sizes[n] for n in range(1, expected + 1)]
    assert page_count(bundle) + sum(page_count(part) for part in parts) == len(pages_with_body(parted_site))
    search_page = (parted_site / "search" / "index.html").read_text(encoding="utf-8")
    assert f'data-parts="{" ".join(f"/pagefind/part-{n}/" for n in range(1, expected + 1))}"' in search_page


def part_of(content: Content) -> dict[str, int]:
    """Which part (0 = the main bundle) each idea's page is indexed in."""
    count = part_count(len(content.ideas), PART_IDEAS)
    return {i.slug: search_parts.part_of(f"/ideas/{i.slug}/", count) for i in content.ideas}


def test_the_search_page_searches_every_part(browser_page: Any, parted_served: str, content: Content) -> None:
    parts = part_of(content)
    responded = [i for i in content.ideas if i.meta.get("status") == "responded"]
    assert len({parts[i.slug] for i in responded}) >= 2, "the check below needs responded ideas in more than one part"
    browser_page.goto(f"{parted_served}/search/?status=Responded+to")
    status = browser_page.get_by_role("status")
    status.filter(has_text="result").wait_for()
    assert status.inner_text().startswith(f"{len(responded)} results"), "ideas from every part are found"

    last = next(i for i in sorted(content.ideas, key=lambda i: i.slug, reverse=True) if parts[i.slug] == max(parts.values()))
    browser_page.goto(f"{parted_served}/search/?q={last.meta['title'].replace(' ', '+')}")
    status.filter(has_text="result").wait_for()
    links = browser_page.locator("[data-search-results] a")
    links.first.wait_for()  # the status is set before the first results are shown
    urls = links.evaluate_all("links => links.map((a) => a.getAttribute('href'))")
    assert f"/ideas/{last.slug}/" in urls, "a word from an idea in the last part finds it"


def bundle_files(site: Path) -> dict[str, int]:
    """Each part's files with their modification times (part-1/…, main/…)."""
    bundle = site / "pagefind"
    return {
        (p.relative_to(bundle).as_posix() if p.relative_to(bundle).parts[0].startswith("part-") else "main/" + p.relative_to(bundle).as_posix()): p.stat().st_mtime_ns
        for p in bundle.rglob("*") if p.is_file()
    }


def part_name(rel: str) -> str:
    return rel.split("/", 1)[0]


def test_an_edit_re_indexes_only_the_part_it_is_in(tmp_path: Path, content: Content) -> None:
    repo = copy_sample(tmp_path / "repo")
    with (repo / "site.yml").open("a", encoding="utf-8") as settings:
        settings.write(f"\nsearch_part_ideas: {PART_IDEAS}\n")
    out = tmp_path / "site"
    build(repo, out, now=BUILD_NOW, incremental=True)
    before = bundle_files(out)
    parts = part_of(content)
    slug = next(slug for slug, part in sorted(parts.items()) if part == 2)
    idea = next((repo / "content" / "ideas").rglob(f"{slug}.md"))
    idea.write_text(idea.read_text().rstrip() + "\n\nA word nobody else uses: zyzzyvaquokka.\n")
    build(repo, out, now=BUILD_NOW, incremental=True)
    after = bundle_files(out)
    changed = {part_name(rel) for rel in set(before) | set(after) if before.get(rel) != after.get(rel)}
    assert changed == {"part-2"}, changed

    kept = {u.slug for u in content.updates} | {slug for u in content.updates for slug in u.meta.get("ideas", [])}
    kept |= {c.slug for c in content.comments} | {d.name for d in (repo / "content" / "comments").iterdir()}
    removable = [i.slug for i in content.ideas if i.slug not in kept]
    for slug in removable[: len(content.ideas) - 2 * PART_IDEAS]:
        next((repo / "content" / "ideas").rglob(f"{slug}.md")).unlink()
    build(repo, out, now=BUILD_NOW, incremental=True)
    assert sorted(p.name for p in (out / "pagefind").glob("part-*")) == ["part-1"], "parts the site no longer has are removed"


def test_the_pages_marked_as_indexed_are_those_pagefind_indexes(tmp_path: Path) -> None:
    """The build decides which part to re-index from the pages it marks as indexed: they must be the pages with data-pagefind-body."""
    repo = copy_sample(tmp_path / "repo")
    result = build(repo, tmp_path / "site", now=BUILD_NOW)
    assert set(result.render_stats.indexed) == pages_with_body(tmp_path / "site")
