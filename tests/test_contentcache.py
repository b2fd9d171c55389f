"""The content cache: records found by each file's bytes, saved in packs, a changed file's record on its own."""

from __future__ import annotations

import builtins
import os
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from generator.build import build
from generator.contentcache import Checkout, ContentCache
from generator.errors import ConsultError
from generator.freshness import cache_file
from generator.loader import Entry, load_site, render_markdown
from generator.validate import validate

from .conftest import BUILD_NOW


def saved_cache(repo: Path, path: Path) -> ContentCache:
    """Load the repository through an empty cache (Markdown rendered, as a build does), save it, load it back."""
    cache = ContentCache()
    site, problems = load_site(repo, cache)
    assert not problems
    render_markdown(site)
    cache.save(path)
    return ContentCache.load(path)


def listing(store: Path) -> dict[str, tuple[int, int, int]]:
    """What the store lists of each file: (modification time, size, the pack holding its record)."""
    with sqlite3.connect(store) as db:
        (data,) = db.execute("SELECT data FROM listing WHERE id = 0").fetchone()
        relisted = db.execute("SELECT path, mtime_ns, size, pack FROM relisted").fetchall()
    db.close()
    listed: dict[str, tuple[int, int, int]] = pickle.loads(data)
    for path, mtime_ns, size, pack in relisted:
        if pack:
            listed[path] = (mtime_ns, size, pack)
        else:
            listed.pop(path, None)
    return listed


def stored_listing(store: Path) -> tuple[bytes, int]:
    """The listing as written whole, and how many files are relisted since."""
    with sqlite3.connect(store) as db:
        (data,) = db.execute("SELECT data FROM listing WHERE id = 0").fetchone()
        (relisted,) = db.execute("SELECT count(*) FROM relisted").fetchone()
    db.close()
    return data, relisted


def test_files_with_the_same_bytes_are_not_parsed_again_after_a_checkout(sample_repo: Path, tmp_path: Path, parsed: list[str]) -> None:
    store = tmp_path / "content.sqlite"
    first, _ = load_site(sample_repo, ContentCache())
    cache = saved_cache(sample_repo, store)
    for path in sample_repo.rglob("*.md"):
        os.utime(path, (1_700_000_000, 1_700_000_000))  # what a fresh checkout does to every file
    parsed.clear()
    again, problems = load_site(sample_repo, cache)
    assert not problems and parsed == []
    assert again.ideas == first.ideas and again.comments == first.comments
    assert all(entry.html for entry in again.ideas.values()), "the rendered Markdown is kept with the entry"


def test_a_changed_file_is_parsed_again_and_saved_alone(sample_repo: Path, tmp_path: Path, parsed: list[str]) -> None:
    store = tmp_path / "content.sqlite"
    cache = saved_cache(sample_repo, store)
    idea = min((sample_repo / "content" / "ideas").glob("*/*.md"))
    idea.write_text(idea.read_text(encoding="utf-8").replace('title: "', 'title: "Changed: ', 1), encoding="utf-8")
    inode = store.stat().st_ino
    parsed.clear()
    load_site(sample_repo, cache)
    assert parsed == [idea.relative_to(sample_repo).as_posix()]
    with sqlite3.connect(store) as db:
        packs_before = dict(db.execute("SELECT id, size FROM packs"))
    cache.save(store)
    assert store.stat().st_ino == inode, "the changed row was written into the store, not the whole store rewritten"
    key = idea.relative_to(sample_repo).as_posix()
    with sqlite3.connect(store) as db:
        packs = dict(db.execute("SELECT id, size FROM packs"))
    _mtime_ns, size, pack = listing(store)[key]
    assert packs == {**packs_before, pack: 1}, "one new pack holds the changed record; the old packs stay as they were"
    assert size == idea.stat().st_size
    parsed.clear()
    again = ContentCache.load(store)
    reloaded, _ = load_site(sample_repo, again)
    assert parsed == []
    assert reloaded.ideas[idea.stem].meta.title.startswith("Changed: ")
    idea.write_text(idea.read_text(encoding="utf-8").replace("Changed: ", "Changed twice: ", 1), encoding="utf-8")
    load_site(sample_repo, again)
    again.save(store)
    with sqlite3.connect(store) as db:
        packs_after = dict(db.execute("SELECT id, size FROM packs"))
    newest = listing(store)[key][2]
    assert packs_after == {**packs_before, newest: 1}, "the pack that held only the replaced record is gone"


def test_a_deleted_file_leaves_the_cache(sample_repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "content.sqlite"
    cache = saved_cache(sample_repo, store)
    comment = min((sample_repo / "content" / "comments").glob("*/*.md"))
    key = comment.relative_to(sample_repo).as_posix()
    assert key in cache.entries
    comment.unlink()
    load_site(sample_repo, cache)
    cache.save(store)
    assert key not in ContentCache.load(store).entries
    assert key not in listing(store)
    assert listing(store).keys() == cache.entries.keys()


def test_a_renamed_file_leaves_its_old_record_and_nothing_else_goes(sample_repo: Path, tmp_path: Path) -> None:
    """One file gone and one new: as many files as records, yet the gone one's record is dropped."""
    store = tmp_path / "content.sqlite"
    cache = saved_cache(sample_repo, store)
    comment = min((sample_repo / "content" / "comments").glob("*/*.md"))
    old = comment.relative_to(sample_repo).as_posix()
    text = comment.read_text(encoding="utf-8").replace(comment.stem, "TH-ZZZZZ")
    renamed = comment.with_name("TH-ZZZZZ.md")
    comment.unlink()
    renamed.write_text(text, encoding="utf-8")
    before = set(cache.entries)
    site, problems = load_site(sample_repo, cache)
    assert not problems and "TH-ZZZZZ" in {c.slug for c in site.comments.values()}
    assert set(cache.entries) == before - {old} | {renamed.relative_to(sample_repo).as_posix()}
    cache.save(store)
    assert listing(store).keys() == cache.entries.keys()
    load_site(sample_repo, cache)  # nothing gone now: every record stays
    assert set(cache.entries) == before - {old} | {renamed.relative_to(sample_repo).as_posix()}


def test_a_checkout_restates_the_files_without_rewriting_what_was_parsed(
    sample_repo: Path, tmp_path: Path, parsed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a fresh checkout each file is read and hashed once; the new sizes and times are saved, so the next load reads none."""
    store = tmp_path / "content.sqlite"
    cache = saved_cache(sample_repo, store)
    rows_before = {key: pack for key, (_mtime_ns, _size, pack) in listing(store).items()}
    with sqlite3.connect(store) as db:
        packs_before = dict(db.execute("SELECT id, data FROM packs"))
    files = sorted(sample_repo.rglob("*.md"))
    for path in files:
        os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    parsed.clear()
    load_site(sample_repo, cache)
    assert parsed == []
    cache.save(store)
    listed = listing(store)
    assert {key: pack for key, (_mtime_ns, _size, pack) in listed.items()} == rows_before
    with sqlite3.connect(store) as db:
        assert dict(db.execute("SELECT id, data FROM packs")) == packs_before, "the parsed records were not written again"
    states = {path: (mtime_ns, size) for path, (mtime_ns, size, _pack) in listed.items()}
    assert set(states) == set(rows_before)
    assert {mtime for mtime, _size in states.values()} == {1_700_000_000_000_000_000}
    reloaded = ContentCache.load(store)
    opened: list[str] = []
    real_open = builtins.open

    def watching_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watching_open)
    load_site(sample_repo, reloaded)
    monkeypatch.undo()
    assert not [name for name in opened if name.endswith(".md")], "every file's state was known: none was read"


def test_records_made_by_other_code_are_not_used(sample_repo: Path, tmp_path: Path, parsed: list[str]) -> None:
    store = tmp_path / "content.sqlite"
    saved_cache(sample_repo, store)
    with sqlite3.connect(store) as db:
        db.execute("UPDATE meta SET value = 'an older schema' WHERE key = 'version'")
    cache = ContentCache.load(store)
    assert cache.entries == {}
    parsed.clear()
    load_site(sample_repo, cache)
    assert len(parsed) > 50
    cache.save(store)
    assert len(ContentCache.load(store).entries) == len(parsed), "saved again whole, for the code that reads it now"


@pytest.mark.parametrize("content", [b"", b"not a database at all", b"SQLite format 3\x00" + b"\x00" * 200])
def test_a_missing_or_unreadable_store_is_an_empty_cache(sample_repo: Path, tmp_path: Path, content: bytes) -> None:
    store = tmp_path / "cache" / "content.sqlite"
    assert ContentCache.load(store).entries == {}
    assert not store.exists(), "loading never creates the store"
    store.parent.mkdir()
    store.write_bytes(content)
    cache = ContentCache.load(store)
    assert cache.entries == {}
    load_site(sample_repo, cache)
    cache.save(store)
    assert ContentCache.load(store).entries.keys() == cache.entries.keys()


def test_a_clean_build_parses_everything_and_keeps_it_for_the_next_build(sample_repo: Path, parsed: list[str]) -> None:
    """`consult build --clean` reuses nothing, and leaves a whole cache (it once saved an empty one over the last)."""
    from click.testing import CliRunner

    from generator.cli import main
    from generator.freshness import cache_file

    def consult_build(*options: str) -> None:
        result = CliRunner().invoke(main, ["--root", str(sample_repo), "build", *options], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    consult_build()
    files = len(parsed)
    assert files > 50
    parsed.clear()
    consult_build("--clean")
    assert len(parsed) == files, "a clean build parses every file again"
    assert len(ContentCache.load(cache_file(sample_repo)).entries) == files
    idea = min((sample_repo / "content" / "ideas").glob("*/*.md"))
    idea.write_text(idea.read_text(encoding="utf-8").replace('title: "', 'title: "Changed: ', 1), encoding="utf-8")
    parsed.clear()
    consult_build()
    assert parsed == [idea.relative_to(sample_repo).as_posix()], "the next build parses only the changed file"


def test_records_left_behind_in_packs_are_not_loaded_and_the_store_is_repacked_when_they_pile_up(
    sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator import contentcache

    monkeypatch.setattr(contentcache, "PACK", 4)
    store = tmp_path / "content.sqlite"
    cache = saved_cache(sample_repo, store)
    files = len(cache.entries)
    ideas = sorted((sample_repo / "content" / "ideas").glob("*/*.md"))[:3]
    for n, idea in enumerate(ideas):
        idea.write_text(idea.read_text(encoding="utf-8").replace('title: "', f'title: "Edit {n}: ', 1), encoding="utf-8")
        load_site(sample_repo, cache)
        cache.save(store)
    with sqlite3.connect(store) as db:
        packed, packs = db.execute("SELECT sum(size), count(*) FROM packs").fetchone()
    assert packed == files + 3, "each edit left its old record behind in a pack"
    reloaded = ContentCache.load(store)
    site, _ = load_site(sample_repo, reloaded)
    assert {site.ideas[idea.stem].meta.title.split(":")[0] for idea in ideas} == {"Edit 0", "Edit 1", "Edit 2"}, "the newer record wins"
    assert reloaded.entries.keys() == cache.entries.keys()
    assert not contentcache._worth_repacking(files, packs, packed)
    assert contentcache._worth_repacking(files, packs, files + max(files // 4, 64) + 1), "over a quarter left behind"
    assert contentcache._worth_repacking(files, 2 * (files // 4 + 1) + 65, files), "too many small packs"

    monkeypatch.setattr(contentcache, "_worth_repacking", lambda files, packs, packed: True)
    inode = store.stat().st_ino
    idea = ideas[0]
    idea.write_text(idea.read_text(encoding="utf-8").replace("Edit 0", "Edit 3", 1), encoding="utf-8")
    load_site(sample_repo, reloaded)
    reloaded.save(store)
    assert store.stat().st_ino != inode, "rewritten whole"
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT sum(size), count(*) FROM packs").fetchone() == (files, -(-files // 4))
    site, _ = load_site(sample_repo, ContentCache.load(store))
    assert site.ideas[idea.stem].meta.title.startswith("Edit 3: ")


def test_a_checkout_counts_the_recorded_files_whose_size_or_time_changed(tmp_path: Path) -> None:
    base = os.path.join(tmp_path, "content")
    seen = {os.path.join(base, f"ideas/{n}.md"): (100 + n, 1_000 + n) for n in range(10)}  # path → (size, time)
    seen[os.path.join(tmp_path.parent, "elsewhere.md")] = (1, 1)  # outside root: not counted
    recorded = {f"content/ideas/{n}.md": (1_000 + n, 100 + n) for n in range(10)}  # key → (time, size)
    recorded["content/ideas/3.md"] = (999, 103)  # another time
    recorded["content/ideas/4.md"] = (1_004, 1)  # another size
    del recorded["content/ideas/5.md"]  # not recorded: not counted
    checkout = Checkout(tmp_path, ("content",), seen)
    assert checkout.changed_since(recorded) == 2
    assert checkout.changed_since(recorded, enough=1) == 1, "counting stops once there are enough"
    assert checkout.changed_since({}) == 0


def _entries(cache: ContentCache) -> dict[str, Entry[Any]]:
    return {key: entry for key, record in cache.entries.items() if (entry := record.parsed[0]) is not None}


def test_a_record_comes_back_without_its_body_which_is_read_when_asked_for(sample_repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "content.sqlite"
    fresh, _ = load_site(sample_repo, ContentCache())
    render_markdown(fresh)
    cache = saved_cache(sample_repo, store)
    idea = max(fresh.ideas.values(), key=lambda entry: len(entry.body))
    with sqlite3.connect(store) as db:
        packs = b"".join(data for (data,) in db.execute("SELECT data FROM packs"))
    assert idea.body.strip().splitlines()[0].encode() not in packs, "the body is kept apart from the record"
    entries = _entries(cache)
    assert entries and all(entry.stored is not None and entry.rendered for entry in entries.values())
    loaded = entries[idea.path]
    assert loaded.body == idea.body and loaded.html == idea.html != ""
    assert loaded.stored is None, "read once, then held"
    assert loaded == idea
    assert sum(entry.stored is None for entry in entries.values()) == 1, "only the body asked for was read"


def test_an_edit_reads_the_bodies_of_the_pages_it_renders_and_no_other(sample_repo: Path, tmp_path: Path) -> None:
    """An edited idea's page shows its comments' bodies: those are read from the store, and no other entry's body."""
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, content_cache=ContentCache(), keep_cache=True)
    (idea,) = (sample_repo / "content" / "ideas").glob("*/one-login-for-all-clinical-systems.md")
    idea.write_text(idea.read_text(encoding="utf-8") + "\nOne more paragraph, added by an edit.\n", encoding="utf-8")
    cache = ContentCache.load(cache_file(sample_repo))
    result = build(sample_repo, out, now=BUILD_NOW, incremental=True, content_cache=cache, keep_cache=True)
    assert result.render_stats is not None and result.render_stats.rendered >= 1
    assert "One more paragraph, added by an edit." in (out / "ideas" / idea.stem / "index.html").read_text(encoding="utf-8")
    read = {key for key, entry in _entries(cache).items() if entry.stored is None}
    edited = idea.relative_to(sample_repo).as_posix()
    comments_shown = {key for key in _entries(cache) if key.startswith(f"content/comments/{idea.stem}/")}
    assert comments_shown, "the sample idea edited has comments, whose bodies its page shows"
    assert read == {edited} | comments_shown
    assert len(read) < len(cache.entries) / 10


def test_a_store_written_again_keeps_the_bodies_it_had_not_read(sample_repo: Path, tmp_path: Path) -> None:
    store, other = tmp_path / "content.sqlite", tmp_path / "elsewhere" / "content.sqlite"
    fresh, _ = load_site(sample_repo, ContentCache())
    render_markdown(fresh)
    cache = saved_cache(sample_repo, store)
    cache.save(other)  # not where it was loaded from: written whole, the bodies copied from the store that has them
    store.unlink()
    site, problems = load_site(sample_repo, ContentCache.load(other))
    assert not problems
    assert site.ideas == fresh.ideas and site.comments == fresh.comments
    assert [entry.html for entry in site.ideas.values()] == [entry.html for entry in fresh.ideas.values()]


def test_a_body_gone_from_the_store_is_an_error_that_says_what_to_do(sample_repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "content.sqlite"
    cache = saved_cache(sample_repo, store)
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM texts")
    entry = next(iter(_entries(cache).values()))
    with pytest.raises(ConsultError, match=r"changed while it was read .*Run the command again; .*delete \.consult/cache"):
        _ = entry.body


def test_a_process_reading_many_bodies_reads_the_rest_at_once(sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import contentcache

    monkeypatch.setattr(contentcache, "ONE_BY_ONE", 3)
    store = tmp_path / "content.sqlite"
    fresh, _ = load_site(sample_repo, ContentCache())
    render_markdown(fresh)
    saved_cache(sample_repo, store)
    queries: list[str] = []
    site, _ = load_site(sample_repo, ContentCache.load(store))
    texts = next(iter(site.ideas.values())).stored
    assert texts is not None
    texts._db = sqlite3.connect(store)
    texts._pid = os.getpid()
    texts._db.set_trace_callback(queries.append)
    assert [entry.html for entry in site.ideas.values()] == [entry.html for entry in fresh.ideas.values()]
    assert [entry.body for entry in site.comments.values()] == [entry.body for entry in fresh.comments.values()]
    assert len(queries) == 4, "three bodies one by one, then the rest in one query"


def test_the_bodies_of_edited_and_deleted_files_leave_the_store(sample_repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "content.sqlite"
    cache = saved_cache(sample_repo, store)
    idea = min((sample_repo / "content" / "ideas").glob("*/*.md"))
    for n in range(3):
        idea.write_text(idea.read_text(encoding="utf-8") + f"\nEdit {n}.\n", encoding="utf-8")
        site, _ = load_site(sample_repo, cache)
        render_markdown(site)
        cache.save(store)
    min((sample_repo / "content" / "comments").glob("*/*.md")).unlink()
    load_site(sample_repo, cache)
    cache.save(store)
    with sqlite3.connect(store) as db:
        kept = {digest for (digest,) in db.execute("SELECT digest FROM texts")}
    assert kept == {entry.digest for entry in _entries(cache).values()}, "one body per file's text, none left behind"
    assert _entries(ContentCache.load(store))[idea.relative_to(sample_repo).as_posix()].body.endswith("Edit 2.\n")


def test_a_save_lists_anew_the_files_it_changed_until_there_are_many(sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit's save writes a row for the edited file, not the whole listing; past `RELISTED_AT_MOST`, the listing is written whole."""
    from generator import contentcache

    store = tmp_path / "content.sqlite"
    cache = saved_cache(sample_repo, store)
    whole, relisted = stored_listing(store)
    assert relisted == 0
    ideas = sorted((sample_repo / "content" / "ideas").glob("*/*.md"))
    comment = min((sample_repo / "content" / "comments").glob("*/*.md"))
    ideas[0].write_text(ideas[0].read_text(encoding="utf-8").replace('title: "', 'title: "Edited: ', 1), encoding="utf-8")
    comment.unlink()
    load_site(sample_repo, cache)
    cache.save(store)
    assert stored_listing(store) == (whole, 2), "the edited file and the removed one relisted; the listing as it was"
    key = ideas[0].relative_to(sample_repo).as_posix()
    gone = comment.relative_to(sample_repo).as_posix()
    assert listing(store) == {k: (r.state.mtime_ns, r.state.size, listing(store)[k][2]) for k, r in cache.entries.items()}
    assert gone not in listing(store) and key in listing(store)
    reloaded = ContentCache.load(store)
    assert reloaded.entries.keys() == cache.entries.keys() and gone not in reloaded.entries
    site, _ = load_site(sample_repo, reloaded)
    assert site.ideas[ideas[0].stem].meta.title.startswith("Edited: ")

    monkeypatch.setattr(contentcache, "RELISTED_AT_MOST", 3)
    for n, idea in enumerate(ideas[1:3]):
        idea.write_text(idea.read_text(encoding="utf-8").replace('title: "', f'title: "Edit {n}: ', 1), encoding="utf-8")
    load_site(sample_repo, reloaded)
    reloaded.save(store)
    data, relisted = stored_listing(store)
    assert relisted == 0 and data != whole, "four relisted would be more than three: the listing was written whole"
    again = ContentCache.load(store)
    assert again.entries.keys() == reloaded.entries.keys()
    assert {k: r.state for k, r in again.entries.items()} == {k: r.state for k, r in reloaded.entries.items()}


def test_an_entry_pickled_flat_comes_back_whole_front_matter_lines_included(sample_repo: Path, tmp_path: Path) -> None:
    """`Entry.__reduce__`: the front matter's fields, the fields it was given and each key's line survive the round
    trip, from a fresh entry and again from one that came back packed (a store written whole again re-pickles them)."""
    site, _ = load_site(sample_repo, ContentCache())
    for entry in [*site.ideas.values(), *site.comments.values(), *site.events.values()]:
        back = pickle.loads(pickle.dumps(entry))
        again = pickle.loads(pickle.dumps(back))
        for copy in (back, again):
            assert copy == entry and type(copy.meta) is type(entry.meta)
            assert copy.meta.model_dump() == entry.meta.model_dump()
            assert copy.meta.model_fields_set == entry.meta.model_fields_set, "what the file gave, not the defaults"
            assert copy.digest == entry.digest and copy.notices == entry.notices and copy.folder == entry.folder
            assert isinstance(entry.key_lines, dict)
            for key, line in entry.key_lines.items():
                assert copy.line_of(key) == line
            assert copy.line_of("not-a-key") == entry.line_of("not-a-key") == 1


def test_a_problem_in_a_file_the_cache_knows_names_the_line_of_its_key(sample_repo: Path, tmp_path: Path) -> None:
    """A cross-reference problem found in an unchanged file (its record from the cache) points at the key's line."""
    cache = saved_cache(sample_repo, tmp_path / "content.sqlite")
    idea = next(path for path in sorted((sample_repo / "content" / "ideas").rglob("*.md")))
    challenge = idea.parent.name
    (sample_repo / "challenges" / f"{challenge}.md").unlink()
    site, problems = load_site(sample_repo, cache)
    assert not problems
    line = next(n for n, text in enumerate(idea.read_text(encoding="utf-8").splitlines(), 1) if text.startswith("challenge:"))
    entry = next(e for e in site.ideas.values() if e.path.endswith(idea.name))
    assert not isinstance(entry.key_lines, dict), "the record came from the cache, packed"
    found = [p for p in validate(site) if p.path == entry.path and p.key == "challenge"]
    assert found and found[0].line == line > 1
