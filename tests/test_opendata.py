"""Open data placed per record: after one edit the files are the last ones' records copied, with the edited one made, byte for byte a cold build's."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from generator import opendata
from generator.build import build
from generator.opendata import IDEA_FIELDS, Frame, Key, Placed, inert_json, json_item, records_file, to_json, write_group

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


def test_an_edited_comment_makes_its_own_record_only(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    comment = min((sample_repo / "content" / "comments").rglob("*.md"))
    comment.write_text(comment.read_text(encoding="utf-8").rstrip() + "\n\nA line added by its author.\n", encoding="utf-8")
    counted.clear()
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert counted.counts() == {"comments": 1}, "the comment's own record; no idea shows anything that changed"
    assert "A line added by its author." in (out / "data" / "comments.csv").read_text(encoding="utf-8")
    build(sample_repo, tmp_path / "cold", now=BUILD_NOW)
    assert data_files(out) == data_files(tmp_path / "cold")


def test_a_cold_build_makes_every_record_and_keeps_only_the_current_ones(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    build(sample_repo, tmp_path / "a", now=BUILD_NOW, incremental=True)
    first = dict(counted.counts())
    counted.clear()
    build(sample_repo, tmp_path / "b", now=BUILD_NOW)  # cold (like --clean): nothing is taken from what was kept
    assert dict(counted.counts()) == first
    for group in ("ideas", "comments"):
        assert len(Placed.load(records_file(sample_repo, group), tmp_path / "b" / "data").keys) == first[group]


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
    assert Placed.load(tmp_path / "missing.pickle", tmp_path).keys == {}


def test_an_output_restored_with_its_times_still_has_its_records_copied(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    """The publishing workflow restores the last output (actions/cache: the same times, new inodes) and builds one edit."""
    build(sample_repo, tmp_path / "last", now=BUILD_NOW, incremental=True)
    out = tmp_path / "restored"
    shutil.copytree(tmp_path / "last", out)  # copy2: modification times kept
    edit_first_idea(sample_repo, "One more line.")
    counted.clear()
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert counted.counts() == {"ideas": 1}
    build(sample_repo, tmp_path / "cold", now=BUILD_NOW)
    assert data_files(out) == data_files(tmp_path / "cold")


@pytest.mark.parametrize("change", ["rewritten", "removed"])
def test_a_data_file_changed_since_the_build_wrote_it_makes_every_record_again(sample_repo: Path, tmp_path: Path, counted: Made, change: str) -> None:
    out = tmp_path / "site"
    result = build(sample_repo, out, now=BUILD_NOW, incremental=True)
    data = out / "data" / "ideas.json"
    if change == "rewritten":  # the same length, other bytes: only its modification time tells
        data.write_bytes(data.read_bytes().replace(b"TH-", b"XX-"))
    else:
        data.unlink()
    edit_first_idea(sample_repo, "One more line.")
    counted.clear()
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert counted.counts()["ideas"] == len(result.views.ideas), "no record is copied from a file the build did not write as it is"
    build(sample_repo, tmp_path / "cold", now=BUILD_NOW)
    assert data_files(out) == data_files(tmp_path / "cold")


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


def test_edits_in_a_row_each_make_only_the_edited_record(sample_repo: Path, tmp_path: Path, counted: Made) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    for number in (1, 2, 3):
        edit_first_idea(sample_repo, f"Edit number {number}.")
        counted.clear()
        build(sample_repo, out, now=BUILD_NOW, incremental=True)
        assert counted.counts() == {"ideas": 1}
        assert f"Edit number {number}." in (out / "data" / "ideas.csv").read_text(encoding="utf-8")
    build(sample_repo, tmp_path / "cold", now=BUILD_NOW)
    assert data_files(out) == data_files(tmp_path / "cold")


FILES = {"rows.csv": (0, Frame("head\r\n")), "items.json": (1, Frame("[\n", ",\n", "\n]\n"))}


def _finished(n: int) -> tuple[str, str]:
    return f"row {n} £\r\n", f'  {{"n": {n}, "text": "é{"x" * (n % 7)}"}}'


def _keyed(numbers: list[int]) -> list[tuple[Key, int]]:
    return [((n,), n) for n in numbers]


@pytest.mark.parametrize(
    "numbers",
    [
        [*range(40), 100],  # one added at the end
        [100, *range(40)],  # ... and at the start
        [*range(10), 100, *range(10, 40)],  # ... and between
        [n for n in range(40) if n != 17],  # one gone
        [*range(20, 40), *range(20)],  # the same records in another order
        [*range(39, -1, -1)],  # every record out of its run
        [3],
        [],
        [101, 102],  # none of the last ones
    ],
)
def test_records_copied_from_where_they_were_placed_give_the_bytes_of_records_made_anew(tmp_path: Path, numbers: list[int]) -> None:
    last = tmp_path / "last"
    placed, made = write_group(last, FILES, _keyed(list(range(40))), _finished, Placed())
    assert made == 40
    placed.save(tmp_path / "placed.pickle")
    previous = Placed.load(tmp_path / "placed.pickle", last)
    assert previous.keys == placed.keys, "the files are as they were written: their records can be copied"
    again, made = write_group(last, FILES, _keyed(numbers), lambda n: _finished(n) if n >= 100 else pytest.fail(f"record {n} made again"), previous)
    assert made == len([n for n in numbers if n >= 100])
    fresh, _ = write_group(tmp_path / "fresh", FILES, _keyed(numbers), _finished, Placed())
    for name, (part, _frame) in FILES.items():
        data = (last / name).read_bytes()
        assert data == (tmp_path / "fresh" / name).read_bytes()
        spans = again.spans[name]
        assert [data[spans[2 * i] : spans[2 * i + 1]].decode("utf-8") for i in range(len(numbers))] == [_finished(n)[part] for n in numbers]
        assert spans == fresh.spans[name]


def test_where_records_were_placed_is_not_used_once_the_files_are_gone_or_the_store_is_unreadable(tmp_path: Path) -> None:
    placed, _ = write_group(tmp_path / "data", FILES, _keyed([1, 2, 3]), _finished, Placed())
    store = tmp_path / "placed.pickle"
    placed.save(store)
    assert Placed.load(store, tmp_path / "data").keys == {(1,): 0, (2,): 1, (3,): 2}
    assert Placed.load(store, tmp_path / "elsewhere").keys == {}, "not the files it was written for"
    store.write_bytes(store.read_bytes()[:-5])
    assert Placed.load(store, tmp_path / "data").keys == {}


def test_the_data_page_counts_the_rows_of_each_file(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW)
    page = (out / "data" / "index.html").read_text(encoding="utf-8")
    ideas, comments = (
        len(list(csv.reader(io.StringIO((out / "data" / name).read_text(encoding="utf-8"))))) - 1 for name in ("ideas.csv", "comments.csv")
    )
    assert comments > 0 and ideas > 0
    assert f"{ideas} ideas, one a row" in page and f"{comments} comments on ideas and discussion topics" in page
