"""Open data kept per record: after one edit the files are the kept records joined, byte for byte a cold build's."""

from __future__ import annotations

import csv
import io
import json
import pickle
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from generator import opendata
from generator.build import build
from generator.opendata import IDEA_FIELDS, Kept, Key, changes_file, inert_json, json_item, records_file, to_json

from .conftest import BUILD_NOW

DATA_FILES = ("ideas.csv", "ideas.json", "comments.csv")


def data_files(site: Path) -> dict[str, bytes]:
    return {name: (site / "data" / name).read_bytes() for name in DATA_FILES}


def edit_first_idea(repo: Path, line: str) -> None:
    idea = min((repo / "content" / "ideas").rglob("*.md"))
    idea.write_text(idea.read_text(encoding="utf-8").rstrip() + f"\n\n{line}\n", encoding="utf-8")


class Made:
    """How many idea and comment records the build makes, counted in a file: the open-data stage runs in a forked process."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def note(self, kind: str) -> None:
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(f"{kind}\n")

    def counts(self) -> Counter[str]:
        return Counter(self.log.read_text(encoding="utf-8").split()) if self.log.exists() else Counter()

    def clear(self) -> None:
        self.log.unlink(missing_ok=True)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Made:
    made = Made(tmp_path / "made.log")
    idea_record, comment_record = opendata.idea_record, opendata.comment_record

    def count_idea(*args: Any) -> dict[str, Any]:
        made.note("ideas")
        return idea_record(*args)

    def count_comment(*args: Any) -> dict[str, Any]:
        made.note("comments")
        return comment_record(*args)

    monkeypatch.setattr(opendata, "idea_record", count_idea)
    monkeypatch.setattr(opendata, "comment_record", count_comment)
    return made


def test_one_edited_idea_makes_one_record_and_the_files_equal_a_cold_builds(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    out = tmp_path / "site"
    first = build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert counted.counts() == {"ideas": len(first.views.ideas), "comments": len(first.views.site.comments)}, "the first build makes every record"
    assert records_file(sample_repo, "ideas").is_file() and records_file(sample_repo, "comments").is_file()

    comments_written = (out / "data" / "comments.csv").stat().st_mtime_ns
    edit_first_idea(sample_repo, "One more line, with <b>markup</b> & an@example.org address.")
    counted.clear()
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert counted.counts() == {"ideas": 1}, "only the edited idea's record is made again; every other record is kept"
    assert (out / "data" / "comments.csv").stat().st_mtime_ns == comments_written, "no comment changed: comments.csv is kept as it was"

    cold = tmp_path / "cold"
    build(sample_repo, cold, now=BUILD_NOW)
    assert data_files(out) == data_files(cold)
    assert "One more line" in (out / "data" / "ideas.csv").read_text(encoding="utf-8")
    assert "an@example.org" not in (out / "data" / "ideas.json").read_text(encoding="utf-8")


def test_a_comment_changes_its_ideas_record_and_adds_its_own(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    comment = next(
        p
        for p in sorted((sample_repo / "content" / "comments").rglob("*.md"))
        if re.search(r'^target: "?idea:', p.read_text(encoding="utf-8"), re.MULTILINE)
    )
    new = comment.with_name("TH-ZZZZZ.md")
    new.write_text(comment.read_text(encoding="utf-8").replace(f"reference: {comment.stem}", "reference: TH-ZZZZZ"), encoding="utf-8")
    counted.clear()
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert counted.counts() == {"ideas": 1, "comments": 1}, "the new comment, and the idea whose comment count it changed"
    cold = tmp_path / "cold"
    build(sample_repo, cold, now=BUILD_NOW)
    assert data_files(out) == data_files(cold)


def test_a_cold_build_makes_every_record_and_keeps_only_the_current_ones(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    build(sample_repo, tmp_path / "a", now=BUILD_NOW, incremental=True)
    first = dict(counted.counts())
    counted.clear()
    build(sample_repo, tmp_path / "b", now=BUILD_NOW)  # cold (like --clean): nothing is taken from what was kept
    assert dict(counted.counts()) == first
    for group in ("ideas", "comments"):
        _, kept = pickle.loads(records_file(sample_repo, group).read_bytes())
        assert len(kept) == first[group]


def test_unreadable_kept_records_are_made_again(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    records_file(sample_repo, "ideas").write_bytes(b"not a pickle")
    edit_first_idea(sample_repo, "One more line.")
    counted.clear()
    result = build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert counted.counts()["ideas"] == len(result.views.ideas)
    build(sample_repo, tmp_path / "cold", now=BUILD_NOW)
    assert data_files(out) == data_files(tmp_path / "cold")
    assert Kept.load(tmp_path / "missing.pickle").records == {}


def test_json_from_finished_items_is_the_whole_document_as_inert_json(sample_repo: Path, tmp_path: Path) -> None:
    from generator.build import check

    config = check(sample_repo).config
    records = [
        {"reference": "TH-AAAAA", "text": "a <script> & “quotes”\nline two", "tags": ["x", "y"], "supports": None, "comments": 0},
        {"reference": "TH-BBBBB", "text": "", "tags": [], "supports": 3, "comments": 2},
    ]
    for chosen in (records, records[:1], []):
        document = json.loads(to_json(config, [json_item(r) for r in chosen]))
        assert document["ideas"] == chosen
        del document["ideas"]
        expected = inert_json({**document, "ideas": chosen})
        assert to_json(config, [json_item(r) for r in chosen]) == expected
    assert list(json.loads(to_json(config, []))["fields"]) == [f.name for f in IDEA_FIELDS]


def test_an_edit_adds_its_records_beside_the_store_and_leaves_the_store_as_it_was(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    store = records_file(sample_repo, "ideas")
    whole = store.read_bytes()
    assert not changes_file(store).exists(), "a first build writes the whole store"
    for number in (1, 2):
        edit_first_idea(sample_repo, f"Edit number {number}.")
        counted.clear()
        build(sample_repo, out, now=BUILD_NOW, incremental=True)
        assert counted.counts() == {"ideas": 1}
        assert store.read_bytes() == whole, "an edit leaves the whole store's bytes alone"
        _, added = pickle.loads(changes_file(store).read_bytes())
        assert len(added) == 1 and f"Edit number {number}." in next(iter(added.values()))[0], "only the record in use is kept beside it"
    counted.clear()
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert counted.counts() == {}, "the next build finds the edited record beside the store"
    build(sample_repo, tmp_path / "cold", now=BUILD_NOW)
    assert data_files(out) == data_files(tmp_path / "cold")


def test_added_records_that_cannot_be_read_are_made_again(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    edit_first_idea(sample_repo, "First edit.")
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    changes_file(records_file(sample_repo, "ideas")).write_bytes(b"cut sho")
    edit_first_idea(sample_repo, "Second edit.")
    counted.clear()
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert counted.counts() == {"ideas": 1}, "the store still holds every other idea's record"
    build(sample_repo, tmp_path / "cold", now=BUILD_NOW)
    assert data_files(out) == data_files(tmp_path / "cold")


def _finished(key: Key) -> tuple[str, str]:
    return f"row {key[0]}", f"item {key[0]}"


def test_the_store_is_written_whole_again_once_the_added_records_grow(tmp_path: Path) -> None:
    store = tmp_path / "kept.pickle"
    first = Kept()
    first.finish([((n,), n) for n in range(80)], lambda n: _finished((n,)))
    first.save(store)
    whole = store.read_bytes()
    for added in range(1, 20):  # each build keeps the 80 records and adds one
        kept = Kept.load(store)
        items = [((n,), n) for n in range(80 + added)]
        assert kept.finish(items, lambda n: _finished((n,))) == [_finished((n,)) for n in range(80 + added)]
        assert kept.made == 1
        kept.save(store)
        if added * opendata.REWRITE_FRACTION <= 80:
            assert store.read_bytes() == whole and len(pickle.loads(changes_file(store).read_bytes())[1]) == added
        else:
            assert not changes_file(store).exists(), "past an eighth of the store, it is written whole"
            assert len(pickle.loads(store.read_bytes())[1]) == 80 + added
            break
    else:
        pytest.fail("the store was never written whole again")
    assert Kept.load(store).records == {(n,): _finished((n,)) for n in range(80 + added)}


def test_unused_records_are_dropped_once_they_are_a_quarter_of_the_store(tmp_path: Path) -> None:
    store = tmp_path / "kept.pickle"
    kept = Kept()
    kept.finish([((n,), n) for n in range(40)], lambda n: _finished((n,)))
    kept.save(store)
    for left in range(39, 0, -1):  # each build uses one record fewer and makes none
        kept = Kept.load(store)
        kept.finish([((n,), n) for n in range(left)], lambda n: _finished((n,)))
        kept.save(store)
        stored = pickle.loads(store.read_bytes())[1]
        if len(stored) == left:
            assert (40 - left) * opendata.UNUSED_FRACTION > 40, "written whole only once enough went unused"
            break
        assert len(stored) == 40
    else:
        pytest.fail("unused records were never dropped")


def test_records_kept_twice_by_an_interrupted_save_are_read_once(tmp_path: Path) -> None:
    store = tmp_path / "kept.pickle"
    kept = Kept()
    kept.finish([((n,), n) for n in range(10)], lambda n: _finished((n,)))
    kept.save(store)
    changes_file(store).write_bytes(pickle.dumps((opendata.KEPT_VERSION, {(3,): _finished((3,)), (99,): _finished((99,))})))
    again = Kept.load(store)
    assert again.stored == 10 and again.added == {(99,)}
    assert again.finish([((n,), n) for n in (3, 99)], lambda n: pytest.fail(f"record {n} made again")) == [_finished((3,)), _finished((99,))]


def test_the_data_page_counts_the_rows_of_each_file(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW)
    page = (out / "data" / "index.html").read_text(encoding="utf-8")
    ideas, comments = (
        len(list(csv.reader(io.StringIO((out / "data" / name).read_text(encoding="utf-8"))))) - 1 for name in ("ideas.csv", "comments.csv")
    )
    assert comments > 0 and ideas > 0
    assert f"{ideas} ideas, one a row" in page and f"{comments} comments on ideas and discussion topics" in page
