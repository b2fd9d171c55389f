"""Writing a build's file whole or not at all, from its bytes or by a function given the new file."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from generator.atomic import recording_writes, write_atomic, write_atomic_with

PIECES = ["\ufeffreference,title\r\n", "TH-7QK2M,Cafés at night £3\r\n", "", 'TH-8AB3C,"Two\nlines"\r\n', "x" * 20_000]


def _pieces(handle: BinaryIO) -> None:
    handle.writelines(piece.encode("utf-8") for piece in PIECES)


def test_a_file_written_by_a_function_holds_what_it_wrote(tmp_path: Path) -> None:
    write_atomic(tmp_path / "joined.csv", "".join(PIECES))
    write_atomic_with(tmp_path / "pieces.csv", _pieces)
    assert (tmp_path / "pieces.csv").read_bytes() == (tmp_path / "joined.csv").read_bytes()
    assert b"\r\n" in (tmp_path / "pieces.csv").read_bytes()  # newlines as given, never translated


def test_a_file_written_by_a_function_makes_its_folder_and_is_recorded(tmp_path: Path) -> None:
    target = tmp_path / "data" / "ideas.json"
    with recording_writes() as written:
        write_atomic_with(target, lambda handle: handle.write(b"{}\n"))
    assert target.read_text(encoding="utf-8") == "{}\n"
    assert written == {str(target)}


def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "ideas.csv"
    target.write_text("old\n", encoding="utf-8")

    def failing(handle: BinaryIO) -> None:
        handle.write(b"new rows, ")
        raise RuntimeError("the records could not be made")

    with pytest.raises(RuntimeError, match="could not be made"):
        write_atomic_with(target, failing)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [path.name for path in tmp_path.iterdir()] == ["ideas.csv"]


def test_text_that_is_not_unicode_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):
        write_atomic(tmp_path / "joined.csv", "a\udc80b")
    assert list(tmp_path.iterdir()) == []
