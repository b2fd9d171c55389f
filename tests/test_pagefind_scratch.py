"""Where a search part is indexed: in memory when there is room, else in the system's temporary folder, and never lost to a full one."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from generator import pagefind
from generator.errors import BuildError

Usage = namedtuple("Usage", "total used free")


def site_with_pages(root: Path, count: int, size: int) -> list[str]:
    files = [f"ideas/idea-{n}/index.html" for n in range(count)]
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x" * size)
    return files


@dataclass
class Memory:
    """A folder standing for the memory file system, with the free space the test gives it."""

    folder: Path
    free: int = 10**12


@pytest.fixture
def memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Memory:
    found = Memory(tmp_path / "shm")
    found.folder.mkdir()
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(pagefind, "MEMORY_FOLDERS", (str(found.folder),))
    real = pagefind.shutil.disk_usage
    monkeypatch.setattr(pagefind.shutil, "disk_usage", lambda path: Usage(found.free, 0, found.free) if path == str(found.folder) else real(path))
    return found


def test_a_part_is_indexed_in_memory_when_there_is_room(tmp_path: Path, memory: Memory) -> None:
    files = site_with_pages(tmp_path / "site", 3, 1000)
    assert pagefind.scratch_parent(tmp_path / "site", files) == str(memory.folder)


def test_without_room_in_memory_the_temporary_folder_is_used(tmp_path: Path, memory: Memory) -> None:
    files = site_with_pages(tmp_path / "site", 3, 1000)
    memory.free = pagefind.MEMORY_MARGIN + 3 * 3000 - 1  # three times the pages, and the margin
    assert pagefind.scratch_parent(tmp_path / "site", files) is None
    memory.free += 1
    assert pagefind.scratch_parent(tmp_path / "site", files) == str(memory.folder)


def test_tmpdir_set_by_hand_is_respected(tmp_path: Path, memory: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    files = site_with_pages(tmp_path / "site", 1, 10)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert pagefind.scratch_parent(tmp_path / "site", files) is None


def test_a_part_that_fails_in_memory_is_indexed_again_in_the_temporary_folder(
    tmp_path: Path, memory: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    files = site_with_pages(site, 2, 100)
    for rel in files:
        (site / rel).write_text(f"<html><body data-pagefind-body><h1>{rel}</h1><p>rota swaps</p></body></html>", encoding="utf-8")
    tried: list[Path] = []
    real = pagefind._index

    def full_memory(source: Path, *args: Any, **kwargs: Any) -> Any:
        tried.append(source)
        if source.is_relative_to(memory.folder):
            raise BuildError("Pagefind could not index: No space left on device")
        return real(source, *args, **kwargs)

    monkeypatch.setattr(pagefind, "_index", full_memory)
    pagefind.index_part(site, 0, files)
    assert [source.is_relative_to(memory.folder) for source in tried] == [True, False]
    assert (site / "pagefind" / pagefind.ENTRY).is_file(), "the part was indexed all the same"
    assert list(memory.folder.iterdir()) == [], "the scratch folder in memory was removed"
