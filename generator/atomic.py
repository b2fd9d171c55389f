"""One way to write a file of the build: whole or not at all.

Every output (pages, feeds, calendars, open data, assets, the search index,
the build's own records) goes through `write_atomic`, so a reader (a web
server, `consult serve`, an interrupted build) never sees half a file: the
data is written beside the target and renamed over it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_RECORDING: list[set[str]] = []
"""The sets `recording_writes` collects written paths into (this process only: forked workers' writes are not seen)."""


@contextmanager
def recording_writes() -> Iterator[set[str]]:
    """Collect the path of every file `write_atomic` writes in this process while the block runs."""
    written: set[str] = set()
    _RECORDING.append(written)
    try:
        yield written
    finally:
        _RECORDING.remove(written)


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write data to path in one rename; text is written as UTF-8, newlines as given. Returns path."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _replace(path, lambda handle: handle.write(data))


def write_atomic_with(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write path's bytes with write, given the open new file, in one rename (nothing of it is seen if write fails). Returns path.

    For a file written in parts that are never joined first: the open-data files are tens of megabytes, made mostly of
    the last build's bytes copied as they are (`generator.opendata.write_group`).
    """
    return _replace(path, write)


def _replace(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write path's new bytes beside it with write, rename them over it, and record it (`recording_writes`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    for written in _RECORDING:
        written.add(os.fspath(path))
    return path
