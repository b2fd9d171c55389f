"""A large site's search index is built in parts (to bound Pagefind's memory) and the search page merges them."""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator import pagefind, search_parts
from generator.build import build
from generator.cutpages import cuts_folder
from generator.pagefind import CONTENT_NAMED, ENTRY, MAIN_ONLY, Bundle, Scratch, part_folder
from generator.search_parts import part_count

from ..conftest import BUILD_NOW, copy_sample
from .conftest import Content, serving
from .test_search import pages_with_body

PART_IDEAS = 10


def parted_copy(folder: Path) -> Path:
    """A copy of the sample site in folder, with search parts of `PART_IDEAS` ideas."""
    repo = copy_sample(folder)
    with (repo / "site.yml").open("a", encoding="utf-8") as settings:
        settings.write(f"\nsearch_part_ideas: {PART_IDEAS}\n")
    return repo


@pytest.fixture(scope="module")
def parted_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = parted_copy(tmp_path_factory.mktemp("parted") / "repo")
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
    assert not [p.name for part in parts for p in part.iterdir() if p.name.startswith(MAIN_ONLY)], "parts are read by the main bundle's script"
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
        (
            p.relative_to(bundle).as_posix() if p.relative_to(bundle).parts[0].startswith("part-") else "main/" + p.relative_to(bundle).as_posix()
        ): p.stat().st_mtime_ns
        for p in bundle.rglob("*")
        if p.is_file()
    }


def part_name(rel: str) -> str:
    return rel.split("/", 1)[0]


def test_an_edit_re_indexes_only_the_part_it_is_in(tmp_path: Path, content: Content) -> None:
    repo = parted_copy(tmp_path / "repo")
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


def search_tree(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted((site / "pagefind").rglob("*")) if p.is_file()}


def counting_pagefind(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The parts Pagefind is run on from now on, in order (made ahead of the page build or after it)."""
    indexed: list[int] = []
    real_run_part = search_parts.run_part

    def counting(scratch: Scratch, started: threading.Event | None = None) -> tuple[dict[str, bytes], float]:
        indexed.append(scratch.part.number)
        return real_run_part(scratch, started)

    monkeypatch.setattr(search_parts, "run_part", counting)
    return indexed


def test_one_edit_re_indexes_one_part_and_matches_a_cold_build(tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted through the build itself: the parts Pagefind is run on, cold, then after one idea is edited."""
    indexed = counting_pagefind(monkeypatch)
    repo = parted_copy(tmp_path / "repo")
    out = tmp_path / "site"
    build(repo, out, now=BUILD_NOW, incremental=True)
    count = part_count(len(content.ideas), PART_IDEAS)
    assert sorted(indexed) == list(range(count)), "a cold build indexes every part once"

    parts = part_of(content)
    slug = next(slug for slug, part in sorted(parts.items()) if part == count - 1)
    idea = next((repo / "content" / "ideas").rglob(f"{slug}.md"))
    idea.write_text(idea.read_text().rstrip() + "\n\nA word nobody else uses: zyzzyvaquokka.\n")
    indexed.clear()
    result = build(repo, out, now=BUILD_NOW, incremental=True)
    assert indexed == [count - 1], f"one edited idea re-indexes its own part only, not {indexed}"
    assert result.search is not None and result.search.ahead == (count - 1,), "made ahead of the page build, while it looked for changed pages"
    assert b"zyzzyvaquokka" in b"".join(gzip.decompress(data) for rel, data in search_tree(out).items() if rel.endswith(".pf_fragment"))

    cold = tmp_path / "cold"
    build(repo, cold, now=BUILD_NOW)
    assert search_tree(out) == search_tree(cold), "the index after an edit is byte for byte the cold build's"


def test_an_edit_reads_from_pagefind_only_the_files_its_part_does_not_have(tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fragments and index chunks are named after their bytes: those the part has installed are not read again (None)."""
    made: list[Bundle] = []
    real_run_part = search_parts.run_part

    def keeping(scratch: Scratch, started: threading.Event | None = None) -> tuple[Bundle, float]:
        files, peak = real_run_part(scratch, started)
        made.append(files)
        return files, peak

    monkeypatch.setattr(search_parts, "run_part", keeping)
    repo = parted_copy(tmp_path / "repo")
    out = tmp_path / "site"
    build(repo, out, now=BUILD_NOW, incremental=True)
    assert made and all(data is not None for files in made for data in files.values()), "a cold build has nothing installed: every file is read"
    count = part_count(len(content.ideas), PART_IDEAS)
    slug = next(slug for slug, part in sorted(part_of(content).items()) if part == count - 1)
    idea = next((repo / "content" / "ideas").rglob(f"{slug}.md"))
    idea.write_text(idea.read_text().rstrip() + "\n\nA word nobody else uses: zyzzyvaquokka.\n")
    made.clear()
    build(repo, out, now=BUILD_NOW, incremental=True)
    (files,) = made
    fragments = [rel for rel in files if rel.startswith("fragment/")]
    read = [rel for rel in fragments if files[rel] is not None]
    assert len(fragments) >= PART_IDEAS / 2 and len(read) == 1, f"the edited idea's fragment alone is new: {read} of {len(fragments)}"
    assert b"zyzzyvaquokka" in gzip.decompress(files[read[0]] or b"")
    assert all(data is not None for rel, data in files.items() if not rel.startswith(CONTENT_NAMED)), "the rest is always read"
    cold = tmp_path / "cold"
    build(repo, cold, now=BUILD_NOW)
    assert search_tree(out) == search_tree(cold), "the index after an edit is byte for byte the cold build's"


def test_an_edit_cuts_for_pagefind_only_its_own_page(tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch) -> None:
    """`consult build` keeps each part's pages as cut for Pagefind (`generator.cutpages`): after an edit, the part
    re-indexed reads and cuts the edited idea's page alone, and the index is still the cold build's."""
    repo = parted_copy(tmp_path / "repo")
    out = tmp_path / "site"
    build(repo, out, now=BUILD_NOW, incremental=True, keep_cache=True)
    count = part_count(len(content.ideas), PART_IDEAS)
    assert sorted(p.name for p in cuts_folder(repo).iterdir()) == sorted(f"part-{n}.cut" for n in range(count))
    cut: list[bytes] = []
    real = pagefind.searchable
    monkeypatch.setattr(pagefind, "searchable", lambda data: cut.append(data) or real(data))
    slug = next(slug for slug, part in sorted(part_of(content).items()) if part == count - 1)
    idea = next((repo / "content" / "ideas").rglob(f"{slug}.md"))
    idea.write_text(idea.read_text().rstrip() + "\n\nA word nobody else uses: zyzzyvaquokka.\n")
    result = build(repo, out, now=BUILD_NOW, incremental=True, keep_cache=True)
    assert result.search is not None and result.search.reindexed == (count - 1,)
    assert len(cut) == 1 and b"zyzzyvaquokka" in cut[0], "the edited idea's page alone is cut: the part's others are kept"
    cold = tmp_path / "cold"
    build(repo, cold, now=BUILD_NOW)
    assert search_tree(out) == search_tree(cold), "the index after an edit is byte for byte the cold build's"
    cut.clear()
    clean = build(repo, tmp_path / "clean", now=BUILD_NOW, keep_cache=True)  # `consult build --clean`: no cache trusted
    assert clean.render_stats is not None and len(cut) == len(clean.render_stats.indexed), "a clean build cuts every indexed page"


def test_a_part_made_ahead_is_made_again_when_another_of_its_pages_changed(tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new title shows on the edited idea's page and on listings: the part made ahead from the idea's page alone
    (all in one part here) is wrong, so it is made again once every page is written, and the index is the cold build's."""
    repo = copy_sample(tmp_path / "repo")
    out = tmp_path / "site"
    build(repo, out, now=BUILD_NOW, incremental=True)
    assert part_count(len(content.ideas), 500) == 1
    idea = next((repo / "content" / "ideas").rglob("*.md"))
    text = idea.read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    idea.write_text(text.replace(title, "title: Quiet rooms zyzzyvaquokka for night staff breaks", 1), encoding="utf-8")
    indexed = counting_pagefind(monkeypatch)
    result = build(repo, out, now=BUILD_NOW, incremental=True)
    assert result.render_stats is not None and result.render_stats.rendered > 1, "the title shows on other pages too"
    assert indexed == [0, 0], "made ahead from the idea's own page, then again with the other pages that changed"
    assert result.search is not None and result.search.reindexed == (0,) and result.search.ahead == ()

    cold = tmp_path / "cold"
    build(repo, cold, now=BUILD_NOW)
    assert search_tree(out) == search_tree(cold), "the index is byte for byte the cold build's"
    assert b"zyzzyvaquokka" in b"".join(gzip.decompress(data) for rel, data in search_tree(out).items() if rel.endswith(".pf_fragment"))


def test_a_new_idea_starts_its_part_ahead_and_the_index_matches_a_cold_build(
    tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a publish after a merged submission does: the new idea's page is rendered ahead and its part made from it
    first; whether that part is then installed or made again, the index is the cold build's."""
    repo = parted_copy(tmp_path / "repo")
    out = tmp_path / "site"
    build(repo, out, now=BUILD_NOW, incremental=True)
    count = part_count(len(content.ideas), PART_IDEAS)
    assert part_count(len(content.ideas) + 1, PART_IDEAS) == count, "the new idea leaves the number of parts as it is"
    source = min((repo / "content" / "ideas").rglob("*.md"))
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"^title: .*$", "title: Quokka rota swaps for night staff", text, count=1, flags=re.MULTILINE)
    text = re.sub(r"^reference: .*$", "reference: TH-QQQQ7", text, count=1, flags=re.MULTILINE)
    source.with_name("quokka-rota-swaps.md").write_text(text, encoding="utf-8")
    indexed = counting_pagefind(monkeypatch)
    result = build(repo, out, now=BUILD_NOW, incremental=True)
    new_part = search_parts.part_of("/ideas/quokka-rota-swaps/", count)
    assert indexed[0] == new_part, f"the new idea's part is made first, ahead of the page build, not {indexed}"
    assert result.search is not None and new_part in result.search.reindexed and 0 in result.search.reindexed
    made_again = indexed.count(new_part) - 1
    assert (new_part in result.search.ahead) == (made_again == 0), "a part made ahead is either installed or made again"

    cold = tmp_path / "cold"
    build(repo, cold, now=BUILD_NOW)
    assert search_tree(out) == search_tree(cold), "the index is byte for byte the cold build's"


def test_part_signatures_change_only_where_a_page_did() -> None:
    indexed = {f"/ideas/idea-{n}/": f"sig-{n}" for n in range(200)} | {"/challenges/a/": "sig-a", "/about/": "sig-about"}
    members, before = search_parts.part_signatures(indexed, 5, "code")
    assert sorted(url for urls in members for url in urls) == sorted(indexed) and all(members)
    edited = "/ideas/idea-7/"
    _, after = search_parts.part_signatures(indexed | {edited: "sig-7-edited"}, 5, "code")
    assert [n for n in range(5) if before[n] != after[n]] == [search_parts.part_of(edited, 5)]
    assert search_parts.part_signatures(indexed, 5, "new code")[1] != before, "new code re-indexes every part"
    assert all(search_parts.part_of(url, 5) == 0 for url in ("/challenges/a/", "/about/")), "pages that are not ideas are in the main bundle"


def test_stale_parts_are_those_changed_or_incomplete(tmp_path: Path) -> None:
    for number in range(3):
        bundle = tmp_path / part_folder(number)
        bundle.mkdir(parents=True, exist_ok=True)
        (bundle / ENTRY).write_text("{}", encoding="utf-8")
    assert search_parts.stale_parts(tmp_path, ["a", "b", "c"], ["a", "b", "c"]) == ()
    assert search_parts.stale_parts(tmp_path, ["a", "B", "c"], ["a", "b", "c"]) == (1,)
    assert search_parts.stale_parts(tmp_path, ["a", "b", "c", "d"], ["a", "b", "c"]) == (3,), "a new part is indexed"
    assert search_parts.stale_parts(tmp_path, ["a", "b", "c"], []) == (0, 1, 2), "a cold build indexes every part"
    (tmp_path / part_folder(2) / ENTRY).unlink()
    assert search_parts.stale_parts(tmp_path, ["a", "b", "c"], ["a", "b", "c"]) == (2,), "a part whose bundle is incomplete is indexed again"
