"""Short stable hashes of values (kept apart so the "nothing changed?" check imports little)."""

from __future__ import annotations

import hashlib
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
