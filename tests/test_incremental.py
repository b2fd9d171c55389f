"""Warm and incremental builds give exactly the files a cold build gives."""

from __future__ import annotations

import datetime as dt
import filecmp
import shutil
from pathlib import Path

import pytest

from generator.build import FILES, build
from generator.loader import ContentCache
from generator.manifest import CHANGES, MANIFEST, read_manifest

from .conftest import BUILD_NOW, PROJECT


def tree(root: Path) -> dict[str, bytes]:
    """Every file the build wrote, the search index included, by its path in the site."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def recorded_pages(site: Path) -> dict[str, tuple[str, bool, frozenset[tuple[str, str, object]]]]:
    """The manifest's pages with their reads spelled out: the numbering of reads depends on the builds before, the reads do not."""
    manifest = read_manifest(site)
    return {url: (r.digest, r.indexed, manifest.reads_of(url)) for url, r in manifest.pages.items()}


def assert_same_as_cold(repo: Path, incremental_out: Path, tmp_path: Path, label: str, now: dt.datetime = BUILD_NOW) -> None:
    cold_out = tmp_path / f"cold-{label}"
    shutil.rmtree(cold_out, ignore_errors=True)
    build(repo, cold_out, now=now)
    warm, cold = tree(incremental_out), tree(cold_out)
    assert sorted(warm) == sorted(cold), f"{label}: files differ: {sorted(set(warm) ^ set(cold))[:10]}"
    different = [name for name in cold if warm[name] != cold[name] and name not in (MANIFEST, CHANGES)]
    assert recorded_pages(incremental_out) == recorded_pages(cold_out), f"{label}: the pages kept do not record what a cold build reads"
    assert not different, f"{label}: {len(different)} files differ, e.g. {different[:5]}"


def edit_body(path: Path, extra: str) -> None:
    path.write_text(path.read_text().rstrip() + f"\n\n{extra}\n")


def test_cold_builds_are_reproducible(sample_repo: Path, tmp_path: Path) -> None:
    build(sample_repo, tmp_path / "a", now=BUILD_NOW)
    build(sample_repo, tmp_path / "b", now=BUILD_NOW)
    _match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", list(tree(tmp_path / "a")), shallow=False)
    assert not mismatch and not errors


def test_the_next_day_renders_only_the_pages_that_show_the_date(sample_repo: Path, tmp_path: Path) -> None:
    """A new day changes what "closes in N days" says: the pages that say it are rendered again, not the whole site."""
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    next_day = BUILD_NOW + dt.timedelta(days=1)
    again = build(sample_repo, out, now=next_day, incremental=True)
    stats = again.render_stats
    assert stats is not None and 0 < stats.rendered < stats.total / 2, f"{stats.rendered} of {stats.total} pages rendered again"
    assert_same_as_cold(sample_repo, out, tmp_path, "next-day", now=next_day)


def test_a_page_removed_from_the_output_by_hand_is_written_again_and_only_it(sample_repo: Path, tmp_path: Path) -> None:
    """Nothing in the content changed, so every read gives what it gave: the missing file alone decides (`missing_pages`)."""
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    idea = min((sample_repo / "content/ideas").rglob("*.md"))
    page = out / "ideas" / idea.stem / "index.html"
    page.unlink()
    (out / "privacy" / "index.html").unlink()
    again = build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert again.render_stats is not None and again.render_stats.rendered == 2
    assert page.is_file() and (out / "privacy" / "index.html").is_file()
    assert_same_as_cold(sample_repo, out, tmp_path, "removed")


def test_incremental_matches_cold_after_each_kind_of_change(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    cache_path = tmp_path / "content.sqlite"
    cache = ContentCache()
    first = build(sample_repo, out, now=BUILD_NOW, incremental=True, content_cache=cache)
    cache.save(cache_path)
    cache = ContentCache.load(cache_path)  # as `consult build` does between runs
    assert len(cache.entries) > 50
    assert first.render_stats.rendered == first.render_stats.total  # no earlier build: cold

    data_written = (out / "data" / "ideas.csv").stat().st_mtime_ns
    files_written = (out / FILES).stat().st_mtime_ns
    warm = build(sample_repo, out, now=BUILD_NOW, incremental=True, content_cache=cache)
    assert warm.render_stats.rendered == 0
    assert (out / "data" / "ideas.csv").stat().st_mtime_ns == data_written, "unchanged open data is kept, not rewritten"
    assert (out / FILES).stat().st_mtime_ns == files_written, "the same files: their list is not written again"
    assert_same_as_cold(sample_repo, out, tmp_path, "warm")

    idea = min((sample_repo / "content/ideas").rglob("*.md"))
    edit_body(idea, "An extra paragraph from the editor.")
    edited = build(sample_repo, out, now=BUILD_NOW, incremental=True, content_cache=cache)
    assert 0 < edited.render_stats.rendered < edited.render_stats.total / 4
    assert "An extra paragraph from the editor." in (out / "ideas" / idea.stem / "index.html").read_text()
    assert_same_as_cold(sample_repo, out, tmp_path, "edit")

    comments = sample_repo / "content/comments" / idea.stem
    shutil.rmtree(comments, ignore_errors=True)
    idea.unlink()
    build(sample_repo, out, now=BUILD_NOW, incremental=True, content_cache=cache)
    assert not (out / "ideas" / idea.stem).exists()
    assert f"ideas/{idea.stem}/index.html" not in (out / FILES).read_text().splitlines(), "the list of files follows the site"
    assert_same_as_cold(sample_repo, out, tmp_path, "delete")

    challenge = sample_repo / "challenges" / "feeling-empowered.md"
    challenge.write_text(challenge.read_text().replace("title:", "title: Renamed", 1))
    renamed = build(sample_repo, out, now=BUILD_NOW, incremental=True, content_cache=cache)
    assert renamed.render_stats.rendered == renamed.render_stats.total
    assert_same_as_cold(sample_repo, out, tmp_path, "challenge")


@pytest.mark.slow
def test_incremental_matches_cold_on_a_generated_corpus(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(PROJECT / "benchmarks"))
    from corpus import make_corpus

    repo = make_corpus(tmp_path / "corpus", ideas=300, seed=3)
    out = tmp_path / "site"
    build(repo, out, now=BUILD_NOW, incremental=True)
    ideas = sorted((repo / "content/ideas").rglob("*.md"))
    for idea in ideas[:3]:
        text = idea.read_text()
        idea.write_text(text.replace("status: waiting", "status: under-consideration").replace("summary: ", "summary: Edited. ", 1))
    build(repo, out, now=BUILD_NOW, incremental=True)
    assert_same_as_cold(repo, out, tmp_path, "corpus")
