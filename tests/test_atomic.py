"""Writing a build's file whole or not at all, from its bytes or from text pieces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.atomic import recording_writes, write_atomic, write_atomic_pieces

PIECES = ["\ufeffreference,title\r\n", "TH-7QK2M,Cafés at night £3\r\n", "", 'TH-8AB3C,"Two\nlines"\r\n', "x" * 20_000]


def test_pieces_give_the_bytes_of_their_joined_text(tmp_path: Path) -> None:
    write_atomic(tmp_path / "joined.csv", "".join(PIECES))
    write_atomic_pieces(tmp_path / "pieces.csv", iter(PIECES))
    assert (tmp_path / "pieces.csv").read_bytes() == (tmp_path / "joined.csv").read_bytes()
    assert b"\r\n" in (tmp_path / "pieces.csv").read_bytes()  # newlines as given, never translated


def test_pieces_make_the_folder_and_are_recorded(tmp_path: Path) -> None:
    target = tmp_path / "data" / "ideas.json"
    with recording_writes() as written:
        write_atomic_pieces(target, ["{", "}\n"])
    assert target.read_text(encoding="utf-8") == "{}\n"
    assert written == {str(target)}


def test_a_failure_while_writing_pieces_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "ideas.csv"
    target.write_text("old\n", encoding="utf-8")

    def failing() -> Iterator[str]:
        yield "new rows, "
        raise RuntimeError("the records could not be made")

    with pytest.raises(RuntimeError, match="could not be made"):
        write_atomic_pieces(target, failing())
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [path.name for path in tmp_path.iterdir()] == ["ideas.csv"]


def test_text_that_is_not_unicode_fails_as_the_joined_text_would(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):
        write_atomic(tmp_path / "joined.csv", "a\udc80b")
    with pytest.raises(UnicodeEncodeError):
        write_atomic_pieces(tmp_path / "pieces.csv", ["a", "\udc80b"])
    assert list(tmp_path.iterdir()) == []
