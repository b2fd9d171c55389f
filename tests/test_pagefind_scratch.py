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


def test_installing_a_part_writes_what_changed_keeps_what_it_is_told_and_removes_the_rest(tmp_path: Path) -> None:
    target = tmp_path / "pagefind" / "part-3"
    for rel, data in {"fragment/en_aaa.pf_fragment": b"a", "fragment/en_old.pf_fragment": b"old", "pagefind-entry.json": b"{}"}.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    kept = (target / "fragment/en_aaa.pf_fragment").stat().st_mtime_ns
    files: pagefind.Bundle = {"fragment/en_aaa.pf_fragment": None, "fragment/en_new.pf_fragment": b"new", "pagefind-entry.json": b'{"v":2}'}
    pagefind.install_part(tmp_path, 3, files)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == sorted(files)
    assert (target / "fragment/en_aaa.pf_fragment").read_bytes() == b"a" and (target / "fragment/en_aaa.pf_fragment").stat().st_mtime_ns == kept
    assert (target / "fragment/en_new.pf_fragment").read_bytes() == b"new" and (target / "pagefind-entry.json").read_bytes() == b'{"v":2}'
    with pytest.raises(BuildError, match="en_gone.pf_fragment was removed while the search index was made: run the build again"):
        pagefind.install_part(tmp_path, 3, {"fragment/en_gone.pf_fragment": None})
    assert (target / "pagefind-entry.json").is_file(), "nothing changed when a kept file is missing"


def test_the_main_bundle_keeps_its_parts_and_reads_only_content_named_files_it_lacks(tmp_path: Path) -> None:
    main = tmp_path / "pagefind"
    for rel in ("fragment/en_aaa.pf_fragment", "index/en_i1.pf_index", "pagefind-entry.json", "part-1/fragment/en_zzz.pf_fragment"):
        (main / rel).parent.mkdir(parents=True, exist_ok=True)
        (main / rel).write_bytes(rel.encode())
    fresh = tmp_path / "fresh"
    for rel in ("fragment/en_aaa.pf_fragment", "fragment/en_bbb.pf_fragment", "index/en_i1.pf_index", "pagefind-entry.json", "filter/en_f.pf_filter"):
        (fresh / rel).parent.mkdir(parents=True, exist_ok=True)
        (fresh / rel).write_bytes(b"fresh " + rel.encode())
    installed = set(pagefind._files_under(main, ("part-",)))
    assert installed == {"fragment/en_aaa.pf_fragment", "index/en_i1.pf_index", "pagefind-entry.json"}, "the parts inside are not the main bundle's"
    files = pagefind._read_tree(fresh, installed)
    assert files == {
        "fragment/en_aaa.pf_fragment": None,
        "index/en_i1.pf_index": None,
        "fragment/en_bbb.pf_fragment": b"fresh fragment/en_bbb.pf_fragment",
        "pagefind-entry.json": b"fresh pagefind-entry.json",  # not content-named: read though a file of that name is there
        "filter/en_f.pf_filter": b"fresh filter/en_f.pf_filter",
    }
    pagefind.install_part(tmp_path, 0, files)
    assert (main / "part-1/fragment/en_zzz.pf_fragment").is_file(), "the main bundle keeps the parts inside it"
    assert (main / "fragment/en_aaa.pf_fragment").read_bytes() == b"fragment/en_aaa.pf_fragment"
    assert (main / "pagefind-entry.json").read_bytes() == b"fresh pagefind-entry.json"
