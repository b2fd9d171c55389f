"""Unchanged content rebuilds to byte-identical feeds, calendars, data, charts and search index."""

from __future__ import annotations

import hashlib
from pathlib import Path

from generator.build import build

from ..conftest import BUILD_NOW, copy_sample

GENERATED = ("feeds", "events.ics", "events", "data", "numbers", "search", "pagefind", "sitemap.xml", "robots.txt")


def digests(site: Path) -> dict[str, str]:
    files = [p for part in GENERATED for p in ([site / part] if (site / part).is_file() else sorted((site / part).rglob("*")))]
    return {p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    first, second = (build(copy_sample(tmp_path / f"repo{n}"), tmp_path / f"site{n}", now=BUILD_NOW).output for n in (1, 2))
    assert len(digests(first)) > 50
    assert digests(first) == digests(second)
