"""Small helpers for plugins that write files other than pages (feeds, data, calendars)."""

from __future__ import annotations

from pathlib import Path

from .atomic import write_atomic
from .config import SiteConfig


def write_output(output: Path, path: str, data: str | bytes) -> Path:
    """Write data at a site path (`/data/ideas.csv`) below output, atomically; text is UTF-8 with LF newlines as given."""
    return write_atomic(output / path.lstrip("/"), data)


def absolute_url(config: SiteConfig, path: str) -> str:
    """The public address of a site path: base_url (which may carry a sub-path) + path."""
    return f"{config.base_url}{path}" if path.startswith("/") else path
