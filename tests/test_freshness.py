"""`consult build` stops early only when the output is exactly what a build would write."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import contentcache, pagewriter
from generator.build import build, up_to_date
from generator.cli import main
from generator.freshness import STAMP
from generator.schema import LONDON

from .conftest import BUILD_NOW


def mtimes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_second_build_writes_nothing(sample_repo: Path) -> None:
    runner = CliRunner()
    out = sample_repo / "_site"
    first = runner.invoke(main, ["--root", str(sample_repo), "build"])
    assert first.exit_code == 0, first.output
    before = mtimes(out)
    second = runner.invoke(main, ["--root", str(sample_repo), "build"])
    assert second.exit_code == 0, second.output
    assert "up to date" in second.output
    assert mtimes(out) == before


def test_any_change_to_an_input_means_a_rebuild(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW)
    assert up_to_date(sample_repo, out, now=BUILD_NOW)
    assert not up_to_date(sample_repo, out, base_url="https://elsewhere.example", now=BUILD_NOW), "another base URL"

    idea = min((sample_repo / "content" / "ideas").rglob("*.md"))
    stat = idea.stat()
    idea.write_text(idea.read_text() + "\nOne more line.\n")
    assert not up_to_date(sample_repo, out, now=BUILD_NOW), "an edited idea"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)
    assert up_to_date(sample_repo, out, now=BUILD_NOW)

    os.utime(idea, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert not up_to_date(sample_repo, out, now=BUILD_NOW), "a touched file (same size)"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)

    new = idea.with_name("a-brand-new-idea.md")
    new.write_text(idea.read_text().replace("reference: TH-", "reference: TH-Z"))
    assert not up_to_date(sample_repo, out, now=BUILD_NOW), "a new file"
    new.unlink()
    (sample_repo / "site.yml").write_text((sample_repo / "site.yml").read_text() + "\n")
    assert not up_to_date(sample_repo, out, now=BUILD_NOW), "an edited site.yml"
    build(sample_repo, out, now=BUILD_NOW, incremental=True)

    challenge = sample_repo / "challenges" / "feeling-empowered.md"
    challenge.write_text(challenge.read_text().replace("title:", "title: Renamed", 1))
    assert not up_to_date(sample_repo, out, now=BUILD_NOW), "an edited challenge (challenges/ is outside content/)"


def test_every_content_folder_is_fingerprinted() -> None:
    from generator.freshness import INPUT_FOLDERS
    from generator.loader import CONTENT_DIRS

    for folder, _model, _depth in CONTENT_DIRS.values():
        assert folder.split("/")[0] in INPUT_FOLDERS, f"{folder} is read by the build but not part of its fingerprint"


def test_the_output_expires_at_midnight_and_when_an_event_ends(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    event = next((sample_repo / "content" / "events").glob("*.md"))
    text = event.read_text()
    start = next(line for line in text.splitlines() if line.startswith("start:"))
    end = next(line for line in text.splitlines() if line.startswith("end:"))
    event.write_text(text.replace(start, 'start: "2026-11-25 13:00"').replace(end, 'end: "2026-11-25 14:00"'))
    build(sample_repo, out, now=BUILD_NOW)  # 12:00 UTC, the event still to come
    event_end = dt.datetime(2026, 11, 25, 14, 0, tzinfo=LONDON)
    assert up_to_date(sample_repo, out, now=event_end - dt.timedelta(minutes=1))
    assert not up_to_date(sample_repo, out, now=event_end), "the event moves to past events"

    event.write_text(text)  # back to a past event: only midnight is left
    build(sample_repo, out, now=BUILD_NOW)
    assert up_to_date(sample_repo, out, now=dt.datetime(2026, 11, 25, 23, 59, tzinfo=dt.UTC))
    assert not up_to_date(sample_repo, out, now=dt.datetime(2026, 11, 26, 0, 0, tzinfo=dt.UTC)), "a new day may close a challenge"


def test_an_interrupted_build_in_place_leaves_no_stamp(sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW)
    assert (out / STAMP).is_file()
    idea = min((sample_repo / "content" / "ideas").rglob("*.md"))
    original, stat = idea.read_text(), idea.stat()
    idea.write_text(original + "\nAn edit.\n")

    def crash(*_args: object) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pagewriter, "_render_one", crash)
    with pytest.raises(RuntimeError):
        build(sample_repo, out, now=BUILD_NOW, incremental=True)
    monkeypatch.undo()
    idea.write_text(original)
    os.utime(idea, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the inputs exactly as the stamp knew them
    assert not (out / STAMP).exists()
    assert not up_to_date(sample_repo, out, now=BUILD_NOW), "half-updated output must be rebuilt"


def test_a_deleted_output_is_rebuilt(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(sample_repo, out, now=BUILD_NOW)
    (out / "index.html").unlink()
    assert not up_to_date(sample_repo, out, now=BUILD_NOW)


@pytest.mark.parametrize("forking", [True, False], ids=["fingerprint in a forked process", "without fork"])
def test_consult_build_walks_the_content_once(sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forking: bool) -> None:
    from generator import freshness, startup

    if not forking:
        monkeypatch.setattr(startup, "sending", lambda there: None)
    counter = tmp_path / "walks"  # a file: the forked process that walks half the parts counts there too
    counter.write_text("")
    plan_walk, part_digests = freshness.plan_walk, freshness.part_digests

    def planned(*args: object, **kwargs: object) -> freshness.Walk:
        with counter.open("a") as walked:
            walked.write("plan\n")
        return plan_walk(*args, **kwargs)  # type: ignore[arg-type]

    def counted(parts: list[tuple[str, str]], states: freshness.FileStates) -> list[str]:
        with counter.open("a") as walked:
            walked.writelines(f"part {relative}\n" for _folder, relative in parts)
        return part_digests(parts, states)

    monkeypatch.setattr(freshness, "plan_walk", planned)  # what `consult build` and up_to_date plan with
    monkeypatch.setattr(freshness, "part_digests", counted)
    monkeypatch.setattr(startup, "part_digests", counted)
    result = CliRunner().invoke(main, ["--root", str(sample_repo), "build"])
    assert result.exit_code == 0, result.output
    walked = counter.read_text().splitlines()
    assert walked.count("plan") == 1, "the fingerprint taken to ask whether anything changed is the one the build records"
    parts = [line for line in walked if line.startswith("part ")]
    assert parts and len(parts) == len(set(parts)), "each part of the walk is walked once, here or in the forked process"
    assert "part content/ideas/getting-the-basics-right" in parts
    idea = min((sample_repo / "content" / "ideas").rglob("*.md"))
    idea.write_text(idea.read_text() + "\nOne more line.\n")
    looked: list[str] = []
    size_and_mtime = contentcache.size_and_mtime
    monkeypatch.setattr(contentcache, "size_and_mtime", lambda path: looked.append(path) or size_and_mtime(path))
    edited = CliRunner().invoke(main, ["--root", str(sample_repo), "build"])
    assert edited.exit_code == 0, edited.output
    assert looked == [], "loading the content reuses what the fingerprint saw of each file"
    assert "up to date" in CliRunner().invoke(main, ["--root", str(sample_repo), "build"]).output


def test_a_file_in_a_nested_folder_is_an_input(sample_repo: Path) -> None:
    from generator.freshness import fingerprint

    before = fingerprint(sample_repo, None, "", {})
    extra = sample_repo / "content" / "comments" / "some-idea" / "nested" / "TH-ZZZZZ.md"
    extra.parent.mkdir(parents=True)
    extra.write_text("x")
    assert fingerprint(sample_repo, None, "", {}) != before
    extra.unlink()
    extra.parent.rmdir()
    assert fingerprint(sample_repo, None, "", {}) == before, "metadata only: the same files give the same fingerprint"
