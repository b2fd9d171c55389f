"""`consult build` takes its fingerprint in a forked process while the content cache loads (generator/startup.py).

Whichever way it runs (forked, or in place where forking is not possible), it
must give the fingerprint and file states a plain `input_fingerprint` gives,
and the cache `ContentCache.load` gives; a failure in the forked process is
raised in the build; and nothing is loaded when the build is not wanted.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator import contentcache, parallel, startup
from generator.build import build
from generator.contentcache import PACK, CacheLoading, Checkout, ContentCache
from generator.contentfiles import CONTENT_FOLDERS, content_files, seen_files
from generator.freshness import FileStates, cache_file, input_fingerprint, input_walk, part_digests
from generator.loader import load_site

from .conftest import BUILD_NOW


@pytest.fixture
def built(sample_repo: Path, tmp_path: Path) -> Path:
    """The sample built once, its content cache saved as `consult build` saves it."""
    cache = ContentCache()
    build(sample_repo, tmp_path / "site", now=BUILD_NOW, content_cache=cache)
    cache.save(cache_file(sample_repo))
    return sample_repo


@pytest.mark.parametrize("forking", [True, False], ids=["forked", "in place"])
def test_the_fingerprint_and_the_cache_are_what_each_gives_alone(built: Path, monkeypatch: pytest.MonkeyPatch, forking: bool) -> None:
    if not forking:
        monkeypatch.setattr(startup, "sending", lambda there: None)
    asked: list[str] = []
    started = startup.start(built, None, None, lambda inputs: asked.append(inputs) or True)
    states: FileStates = {}
    assert asked == [started.inputs] == [input_fingerprint(built, None, None, states)]
    assert started.states == states
    assert started.files == (content_files(built) if forking else None), "listed beside the loading, or by the load stage"
    assert started.cache is not None
    alone = ContentCache.load(cache_file(built), Checkout(built, CONTENT_FOLDERS, states))
    assert started.cache.entries == alone.entries and started.cache.entries
    site, problems = load_site(built, started.cache, started.states)
    assert not problems and site.ideas


@pytest.mark.parametrize("forking", [True, False], ids=["forked", "in place"])
def test_nothing_is_loaded_when_the_build_is_not_wanted(built: Path, monkeypatch: pytest.MonkeyPatch, forking: bool) -> None:
    if not forking:
        monkeypatch.setattr(startup, "sending", lambda there: None)
    loaded: list[int] = []
    step = CacheLoading.step
    monkeypatch.setattr(CacheLoading, "step", lambda self: loaded.append(1) or step(self))
    finished: list[int] = []
    monkeypatch.setattr(CacheLoading, "finish", lambda self: finished.append(1))
    started = startup.start(built, None, None, lambda inputs: False)
    assert started.cache is None and started.states == {} and started.inputs
    assert finished == [], "the loading is abandoned"
    if not forking:
        assert loaded == [], "without a fork the cache is loaded only once the build is wanted"
    # what was loaded before the answer is handed over, for `consult build` to end without freeing it
    assert isinstance(started.abandoned, CacheLoading) if forking else started.abandoned is None


@pytest.mark.parametrize("wanted", [True, False], ids=["wanted", "not wanted"])
def test_idle_work_runs_while_the_forked_process_works_once_every_pack_is_loaded(built: Path, monkeypatch: pytest.MonkeyPatch, wanted: bool) -> None:
    """`consult build` imports its pipeline there; never before the build is known to be wanted ("nothing changed" would wait)."""
    here, listed = os.getpid(), startup.seen_files

    def slow_listing(root: Path, seen: Any) -> Any:
        if os.getpid() != here:
            time.sleep(0.5)  # the forked process is still at work once the packs are loaded
        return listed(root, seen)

    monkeypatch.setattr(startup, "seen_files", slow_listing)
    steps: list[bool] = []
    step = CacheLoading.step
    monkeypatch.setattr(CacheLoading, "step", lambda self: steps.append(step(self)) or steps[-1])
    idle: list[bool] = []
    started = startup.start(built, None, None, lambda inputs: wanted, idle=lambda: idle.append(False in steps))
    assert idle == ([True] if wanted else []), "once, with every pack loaded, only when the build is wanted"
    assert (started.cache is not None) == wanted
    if wanted:
        assert started.files == content_files(built), "the forked process's result is still taken after"


def test_a_failure_in_the_forked_fingerprint_fails_the_build(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = os.getpid()
    part_digests = startup.part_digests

    def broken_there(parts: list[tuple[str, str]], states: FileStates) -> list[str]:
        if os.getpid() != here:
            raise PermissionError("content/ideas: permission denied")
        return part_digests(parts, states)

    monkeypatch.setattr(startup, "part_digests", broken_there)
    with pytest.raises(PermissionError, match="permission denied"):
        startup.start(built, None, None, lambda inputs: True)


def test_the_cache_loads_a_pack_at_a_time(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contentcache, "PACK", 3)
    store = tmp_path / "content.sqlite"
    ContentCache.load(cache_file(built)).save(store)  # saved whole, in packs of 3
    whole = ContentCache.load(cache_file(built))
    loading = CacheLoading(store)
    steps = 0
    while loading.step():
        steps += 1
        assert len(loading.cache.entries) == min(3 * steps, len(whole.entries))
    assert loading.cache.entries == whole.entries
    assert steps == -(-len(whole.entries) // 3), "a pack per step"
    assert loading.finish() is loading.cache and PACK > 3


def test_a_damaged_store_loads_as_an_empty_cache(built: Path) -> None:
    store = cache_file(built)
    with sqlite3.connect(store) as db:
        db.execute("UPDATE packs SET data = x'00ff' WHERE id = (SELECT max(id) FROM packs)")
    db.close()
    loading = CacheLoading(store)
    cache = loading.finish()
    assert cache.entries == {}, "no half-loaded cache"
    cache.save(store)  # saved whole: the damaged store is replaced
    assert ContentCache.load(store).entries == {}
    assert CacheLoading(built / "nowhere.sqlite").finish().entries == {}


def fresh_checkout(root: Path) -> None:
    """Commit root to a new repository and restate its content files, as a fresh clone finds them."""
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "content"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=root, check=True, capture_output=True)
    for path in (root / "content").rglob("*.md"):
        os.utime(path, ns=(1, 1))
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=root, check=True)  # as a fresh checkout's index knows its files


@pytest.mark.parametrize("how", ["see, then finish", "finish loading, then see", "start"])
def test_git_is_asked_once_many_files_are_restated(built: Path, how: str) -> None:
    """A fresh checkout restates every file: `see` asks git which are unmodified, beside the loading, or after it
    (`start` may have loaded every record before the forked fingerprint comes back)."""
    fresh_checkout(built)
    states: FileStates = {}
    input_fingerprint(built, None, None, states)
    loading = CacheLoading(cache_file(built))
    if how == "start":
        started = startup.start(built, None, None, lambda inputs: True)
        assert started.cache is not None
        cache = started.cache
    else:
        if how == "finish loading, then see":
            while loading.step():
                pass
        loading.see(Checkout(built, CONTENT_FOLDERS, states))
        cache = loading.finish()
    assert cache._blobs and cache.entries, "git's index answered which files are unmodified"
    assert set(cache._blobs) >= {key for key in cache.entries if key.startswith("content/")}


def test_after_a_fresh_checkout_git_is_asked_once_the_first_files_are_walked(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache is shown the first files the forked process walked (`startup.EARLY_FILES`) before the rest: restated
    files among them are enough to ask git, beside the loading, without waiting for the whole walk."""
    fresh_checkout(built)
    monkeypatch.setattr(contentcache, "GIT_AFTER", 4)  # the sample holds fewer files than EARLY_FILES × 64
    every: FileStates = {}
    input_fingerprint(built, None, None, every)
    calls: list[tuple[int, bool]] = []
    real_see = CacheLoading.see

    def see(self: CacheLoading, checkout: Checkout) -> None:
        real_see(self, checkout)
        calls.append((len(checkout.seen), self._asking is not None))

    monkeypatch.setattr(CacheLoading, "see", see)
    started = startup.start(built, None, None, lambda inputs: True)
    assert started.cache is not None and started.cache._blobs, "git's index answered"
    first_seen, asked = calls[0]
    assert 0 < first_seen < len(every) and asked, "asked with the first files, before the rest of the walk came back"
    assert started.states == every


def test_first_files_walked_before_any_pack_loaded_are_shown_once_the_build_is_wanted(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the forked process's first files come before this one loaded a pack (a busy machine), git is still asked
    with them, before the rest of the walk's states come back."""
    fresh_checkout(built)
    monkeypatch.setattr(contentcache, "GIT_AFTER", 4)
    every: FileStates = {}
    input_fingerprint(built, None, None, every)
    calls: list[int] = []
    real_see, real_until = CacheLoading.see, startup._load_until_ready
    first = [True]

    def see(self: CacheLoading, checkout: Checkout) -> None:
        real_see(self, checkout)
        calls.append(len(checkout.seen))

    def until_ready(loading: CacheLoading, child: Any) -> bool:
        if first:  # the forked process wins the race: nothing loaded before its first files
            first.clear()
            while not child.ready():
                time.sleep(0.001)
            return False
        return real_until(loading, child)

    monkeypatch.setattr(CacheLoading, "see", see)
    monkeypatch.setattr(startup, "_load_until_ready", until_ready)
    started = startup.start(built, None, None, lambda inputs: True)
    assert started.cache is not None and started.cache._blobs, "git's index answered"
    assert 0 < calls[0] < len(every), "shown the first files before the rest of the walk came back"
    assert started.states == every


def test_sending_gives_each_result_as_it_is_yielded_and_raises_a_failure() -> None:
    def there() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("the third went wrong")

    sent = parallel.sending(there)
    assert sent is not None
    try:
        assert sent.next() == 1 and sent.next() == 2
        with pytest.raises(ValueError, match="third"):
            sent.next()
    finally:
        sent.close()


def test_the_load_stage_lists_no_folder_the_forked_process_listed(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from generator import loader
    from generator.cli import main

    out = tmp_path / "site"
    idea = min((built / "content" / "ideas").rglob("*.md"))
    idea.write_text(idea.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")

    def walked(folder: str, depth: int) -> list[str]:
        raise AssertionError(f"{folder} was listed again by the load stage")

    monkeypatch.setattr(loader, "folder_files", walked)
    result = CliRunner().invoke(main, ["--root", str(built), "build", "--output", str(out)], catch_exceptions=False)
    assert result.exit_code == 0 and "Built" in result.output, result.output
    assert "One more line." in (out / "ideas" / idea.stem / "index.html").read_text(encoding="utf-8")


def _walked(root: Path) -> FileStates:
    """The paths a fingerprint's walk sees, in its order (`startup` lists the content files from them)."""
    states: FileStates = {}
    walk = input_walk(root, None, None, states)
    part_digests(walk.parts, states)
    return states


def test_the_content_files_listed_from_the_walk_are_the_ones_the_folders_hold_in_their_order(sample_repo: Path) -> None:
    """Names that sort one way as paths and another folder by folder, files deeper or shallower than a kind keeps
    them, and files that are not Markdown: listed as `content_files` lists the folders."""
    ideas, comments = sample_repo / "content" / "ideas", sample_repo / "content" / "comments"
    for folder in ("a", "a-b", "a.b"):
        (ideas / folder).mkdir()
        for name in ("z.md", "y-x.md", "y.md", "notes.txt"):
            (ideas / folder / name).write_text("---\n---\n", encoding="utf-8")
    (ideas / "a" / "deeper").mkdir()
    (ideas / "a" / "deeper" / "hidden.md").write_text("", encoding="utf-8")
    (comments / "some-idea").mkdir(parents=True, exist_ok=True)
    (comments / "some-idea" / "TH-AAAAA.md").write_text("", encoding="utf-8")
    (sample_repo / "challenges" / "drafts").mkdir()
    (sample_repo / "challenges" / "drafts" / "later.md").write_text("", encoding="utf-8")
    (sample_repo / "content" / "README.md").write_text("", encoding="utf-8")
    listed = seen_files(sample_repo, _walked(sample_repo))
    assert listed == content_files(sample_repo)
    assert listed is not None and str(ideas / "a" / "z.md") in listed["idea"]
    assert str(ideas / "a" / "deeper" / "hidden.md") not in listed["idea"]


def test_a_linked_folder_where_a_kind_keeps_its_subfolders_is_listed_by_looking_at_the_folders(sample_repo: Path, tmp_path: Path) -> None:
    """The walk takes a link to a folder as a file, and never looks inside; `content_files` follows it: the build
    must still read the ideas in a challenge's folder kept elsewhere and linked in."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "linked-idea.md").write_text("---\n---\n", encoding="utf-8")
    (sample_repo / "content" / "ideas" / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert seen_files(sample_repo, _walked(sample_repo)) is None
    started = startup.start(sample_repo, None, None, lambda inputs: True)
    assert started.files == content_files(sample_repo)
    assert started.files is not None and str(sample_repo / "content" / "ideas" / "linked" / "linked-idea.md") in started.files["idea"]
