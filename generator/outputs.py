"""Small helpers for plugins that write files other than pages (feeds, data, calendars)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Template
from pelican import signals

from .atomic import write_atomic
from .config import SiteConfig


def write_output(output: Path, path: str, data: str | bytes) -> Path:
    """Write data at a site path (`/data/ideas.csv`) below output, atomically; text is UTF-8 with LF newlines as given."""
    return write_atomic(output / path.lstrip("/"), data)


def write_page(output: Path, name: str, template: Template, context: dict[str, Any], **values: Any) -> Path:
    """Render a plugin's page (`numbers/index.html`) with the shared context and write it atomically.

    Renders what Pelican's `Writer.write_file` renders (the context, `localsiteurl`, `output_file`, the values; the
    site uses no relative URLs) and sends Pelican's `content_written` signal as it does.
    """
    local = {**context, "localsiteurl": context.get("localsiteurl"), "output_file": name, **values}
    path = write_atomic(output / name, template.render(local))
    signals.content_written.send(str(path), context=local)
    return path


def absolute_url(config: SiteConfig, path: str) -> str:
    """The public address of a site path: base_url (which may carry a sub-path) + path."""
    return f"{config.base_url}{path}" if path.startswith("/") else path


def page_paths(files: Iterable[str]) -> list[str]:
    """The site's HTML files (`ideas/x/index.html`, relative to the output) as clean site paths (`/ideas/x/`), sorted; 404.html excluded."""
    return sorted("/" + file.removesuffix("index.html") for file in files if file != "404.html" and file.endswith(".html"))
