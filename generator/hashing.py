"""Short stable hashes of values, and a file's size and modification time (kept apart so the "nothing changed?" check imports little)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from importlib import metadata
from typing import Any


def signature(*parts: Any) -> str:
    """A short stable hash of the parts' text form."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(repr(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def package_versions(names: Iterable[str]) -> str:
    """The installed version of each package ("name=version", "-" when it is not installed), comma-separated."""
    versions = []
    for name in names:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=-")
    return ",".join(versions)


def size_and_mtime(path: str | os.PathLike[str]) -> tuple[int, int]:
    """A file's size and modification time in nanoseconds: how the content cache and the open-data stage tell that a
    file is the one they saw or wrote, without reading it."""
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns
