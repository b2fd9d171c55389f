"""A large site's search index is built in parts (to bound Pagefind's memory) and the search page merges them."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from generator.build import build

from ..conftest import BUILD_NOW, copy_sample
from .conftest import Content, QuietHandler
from .test_search import pages_with_body

PART_IDEAS = 10


@pytest.fixture(scope="module")
def parted_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_sample(tmp_path_factory.mktemp("parted") / "repo")
    with (repo / "site.yml").open("a", encoding="utf-8") as settings:
        settings.write(f"\nsearch_part_ideas: {PART_IDEAS}\n")
    out = repo.parent / "site"
    build(repo, out, now=BUILD_NOW)
    return out


@pytest.fixture(scope="module")
def parted_served(parted_site: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(parted_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def page_count(bundle: Path) -> int:
    return json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))["languages"]["en-gb"]["page_count"]


def test_every_indexed_page_is_in_exactly_one_part(parted_site: Path, content: Content) -> None:
    bundle = parted_site / "pagefind"
    parts = sorted(bundle.glob("part-*"), key=lambda p: int(p.name.split("-")[1]))
    expected = -(-len(content.ideas) // PART_IDEAS) - 1
    assert [p.name for p in parts] == [f"part-{n}" for n in range(1, expected + 1)]
    assert all(page_count(part) <= PART_IDEAS for part in parts)
    assert page_count(bundle) + sum(page_count(part) for part in parts) == len(pages_with_body(parted_site))
    search_page = (parted_site / "search" / "index.html").read_text(encoding="utf-8")
    assert f'data-parts="{" ".join(f"/pagefind/part-{n}/" for n in range(1, expected + 1))}"' in search_page


def part_of(content: Content) -> dict[str, int]:
    """Which part (0 = the main bundle) each idea's page is indexed in: ideas in URL order, PART_IDEAS to a part."""
    return {slug: n // PART_IDEAS for n, slug in enumerate(sorted(i.slug for i in content.ideas))}


def test_the_search_page_searches_every_part(browser_page: Any, parted_served: str, content: Content) -> None:
    parts = part_of(content)
    responded = [i for i in content.ideas if i.meta.get("status") == "responded"]
    assert len({parts[i.slug] for i in responded}) >= 2, "the check below needs responded ideas in more than one part"
    browser_page.goto(f"{parted_served}/search/?status=Responded+to")
    status = browser_page.get_by_role("status")
    status.filter(has_text="result").wait_for()
    assert status.inner_text().startswith(f"{len(responded)} results"), "ideas from every part are found"

    last = next(i for i in sorted(content.ideas, key=lambda i: i.slug, reverse=True) if parts[i.slug] == max(parts.values()))
    browser_page.goto(f"{parted_served}/search/?q={last.meta['title'].replace(' ', '+')}")
    status.filter(has_text="result").wait_for()
    urls = browser_page.locator("[data-search-results] a").evaluate_all("links => links.map((a) => a.getAttribute('href'))")
    assert f"/ideas/{last.slug}/" in urls, "a word from an idea in the last part finds it"
