"""Small helpers for plugins that write files other than pages (feeds, data, calendars)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .atomic import write_atomic, write_atomic_pieces
from .config import SiteConfig


def write_output(output: Path, path: str, data: str | bytes) -> Path:
    """Write data at a site path (`/data/ideas.csv`) below output, atomically; text is UTF-8 with LF newlines as given."""
    return write_atomic(output / path.lstrip("/"), data)


def write_output_pieces(output: Path, path: str, pieces: Iterable[str]) -> Path:
    """Write text pieces one after another at a site path below output, atomically (`write_atomic_pieces`)."""
    return write_atomic_pieces(output / path.lstrip("/"), pieces)


def absolute_url(config: SiteConfig, path: str) -> str:
    """The public address of a site path: base_url (which may carry a sub-path) + path."""
    return f"{config.base_url}{path}" if path.startswith("/") else path
