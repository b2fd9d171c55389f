"""Small helpers for plugins that write files other than pages (feeds, data, calendars)."""

from __future__ import annotations

from pathlib import Path

from .config import SiteConfig


def write_output(output: Path, path: str, data: str | bytes) -> Path:
    """Write data at a site path (`/data/ideas.csv`) below output; text is UTF-8 with LF newlines as given."""
    target = output / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    target.write_bytes(data)
    return target


def absolute_url(config: SiteConfig, path: str) -> str:
    """The public address of a site path: base_url (which may carry a sub-path) + path."""
    return f"{config.base_url}{path}" if path.startswith("/") else path


def page_paths(output: Path) -> list[str]:
    """Every HTML page below output as a clean site path (`/ideas/x/`), sorted; 404.html excluded."""
    paths = []
    for file in output.rglob("*.html"):
        relative = file.relative_to(output).as_posix()
        if relative == "404.html":
            continue
        paths.append("/" + relative.removesuffix("index.html"))
    return sorted(paths)
