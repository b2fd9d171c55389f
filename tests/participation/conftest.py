"""Fixtures for the participation features: the sample content read straight from its files, and the built site served on 127.0.0.1.

Figures the tests expect are counted here from the front matter itself, not
from generator.views, so the site is checked against its content rather than
against its own code.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CONSULT_CHROMIUM", "/usr/bin/chromium"))


@dataclass(frozen=True)
class Doc:
    slug: str
    meta: dict[str, Any]
    body: str


def read_docs(folder: Path) -> list[Doc]:
    """Every Markdown file below folder: its front matter (YAML) and body."""
    docs = []
    for path in sorted(folder.rglob("*.md")):
        _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
        docs.append(Doc(path.stem, yaml.safe_load(front), body.strip()))
    return docs


@dataclass(frozen=True)
class Content:
    site: dict[str, Any]
    challenges: list[Doc]
    ideas: list[Doc]
    """The ideas the site lists: every idea but those marked `duplicate_of`."""
    comments: list[Doc]
    events: list[Doc]
    topics: list[Doc]
    updates: list[Doc]
    duplicates: list[Doc]
    """Ideas marked `duplicate_of`: each only a page pointing to its original."""


@pytest.fixture(scope="session")
def content() -> Content:
    """The sample content the built site is made from, as plain dicts."""
    folder = PROJECT / "content"
    ideas = read_docs(folder / "ideas")
    return Content(
        site=yaml.safe_load((PROJECT / "site.yml").read_text(encoding="utf-8")),
        challenges=read_docs(PROJECT / "challenges"),
        ideas=[i for i in ideas if not i.meta.get("duplicate_of")],
        comments=read_docs(folder / "comments"),
        events=read_docs(folder / "events"),
        topics=read_docs(folder / "topics"),
        updates=read_docs(folder / "updates"),
        duplicates=[i for i in ideas if i.meta.get("duplicate_of")],
    )


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def served(site_dir: Path) -> Iterator[str]:
    """The built site on a free port of 127.0.0.1; yields its base URL."""
    with serving(site_dir) as base:
        yield base


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """A built site's folder served on a free port of 127.0.0.1 while the block runs; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="participation-site")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def chromium(playwright_driver: Any) -> Iterator[Any]:
    """Debian's headless Chromium, on the session's shared Playwright driver (no browser download)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs chromium) or set CONSULT_CHROMIUM.", pytrace=False)
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
