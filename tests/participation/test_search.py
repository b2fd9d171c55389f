"""Search: Pagefind's index of the built sample site, queried for real in headless Chromium, and the /search/ page with and without JavaScript."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import cbor2
from bs4 import BeautifulSoup

from generator import pagefind

from .conftest import Content

IDEA = "hot-food-for-staff-working-nights"
STATUS_LABELS = {
    "waiting": "Waiting for a response",
    "under-consideration": "Under consideration",
    "responded": "Responded to",
    "adopted": "Adopted",
    "not-taken-forward": "Not taken forward",
}

RUN_SEARCH = """async ([term, filters]) => {
  const pagefind = await import("/pagefind/pagefind.js");
  const search = await pagefind.search(term, { filters });
  const results = await Promise.all(search.results.map((r) => r.data()));
  return { urls: results.map((d) => d.url), filters: await pagefind.filters() };
}"""


def pages_with_body(site_dir: Path) -> set[str]:
    found = set()
    for path in site_dir.rglob("*.html"):
        if "data-pagefind-body" in path.read_text(encoding="utf-8"):
            found.add("/" + path.relative_to(site_dir).as_posix().removesuffix("index.html"))
    return found


def search(browser_page: Any, served: str, term: str | None, filters: dict[str, str] | None = None) -> dict[str, Any]:
    browser_page.goto(f"{served}/search/")
    return browser_page.evaluate(RUN_SEARCH, [term, filters or {}])


def test_index_exists_for_the_content_pages_only(site_dir: Path, content: Content) -> None:
    bundle = site_dir / "pagefind"
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    indexed = pages_with_body(site_dir)
    assert entry["languages"]["en-gb"]["page_count"] == len(indexed)
    assert {f"/ideas/{i.slug}/" for i in content.ideas} <= indexed
    assert not {p for p in indexed if "/status/" in p or "/page/" in p or p.startswith("/tags/")}, "listings are not indexed"
    assert (bundle / "pagefind.js").is_file() and any((bundle / "filter").iterdir())
    assert not list(bundle.glob("pagefind-*ui*")), "Pagefind's own UI is not shipped"


def test_only_the_search_page_refers_to_pagefind(site_dir: Path) -> None:
    for path in site_dir.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert ("/pagefind/pagefind.js" in html) == (path.parent.name == "search"), path
    script = next((site_dir / "assets" / "js").glob("consult.*.js")).read_text(encoding="utf-8")
    assert "import(" in script and "/pagefind/" not in script, "pagefind.js is imported on demand, from the search page's data attribute"


def test_pagefind_answers_a_word_from_an_idea(browser_page: Any, served: str) -> None:
    found = search(browser_page, served, "hot food")
    assert f"/ideas/{IDEA}/" in found["urls"][:3]


def test_pagefind_filters_match_the_content(browser_page: Any, served: str, content: Content) -> None:
    filters = search(browser_page, served, None)["filters"]
    assert filters["status"] == dict(Counter(STATUS_LABELS[i.meta.get("status", "waiting")] for i in content.ideas))
    assert filters["tag"] == dict(Counter(t.replace("-", " ") for i in content.ideas for t in i.meta.get("tags", [])))
    titles = {c.meta["title"] for c in content.challenges}
    assert set(filters["challenge"]) == titles
    adopted = search(browser_page, served, None, {"status": "Adopted"})["urls"]
    assert sorted(adopted) == sorted(f"/ideas/{i.slug}/" for i in content.ideas if i.meta.get("status") == "adopted")


def test_search_page_finds_and_filters(browser_page: Any, served: str, content: Content) -> None:
    requests: list[str] = []
    browser_page.on("request", lambda request: requests.append(request.url))
    browser_page.goto(f"{served}/search/")
    browser_page.wait_for_load_state("networkidle")
    assert not [u for u in requests if "/pagefind/" in u], "nothing of Pagefind loads before a search"
    browser_page.get_by_label("Search ideas, discussions, events and updates").fill("hot food")
    browser_page.get_by_role("button", name="Search", exact=True).click()
    status = browser_page.get_by_role("status")
    status.filter(has_text="result").wait_for()
    assert "hot food" in status.inner_text()
    first = browser_page.locator("[data-search-results] a").first
    assert first.get_attribute("href") == f"/ideas/{IDEA}/"
    assert "?q=hot+food" in browser_page.url
    browser_page.goto(f"{served}/search/?status=Responded+to")
    status.filter(has_text="result").wait_for()
    responded = [i for i in content.ideas if i.meta.get("status") == "responded"]
    assert status.inner_text().startswith(f"{len(responded)} results")
    assert browser_page.get_by_label("Status").input_value() == "Responded to"


def test_search_page_without_javascript_offers_the_listing_pages(chromium: Any, served: str, site_dir: Path, content: Content) -> None:
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{served}/search/")
        assert not page.locator("form[role=search]").is_visible()
        assert page.get_by_text("Search needs JavaScript").is_visible()
        hrefs = set(page.locator("main a").evaluate_all("links => links.map((a) => a.getAttribute('href'))"))
    finally:
        context.close()
    assert {f"/challenges/{c.slug}/" for c in content.challenges} <= hrefs
    statuses = {i.meta.get("status", "waiting") for i in content.ideas}
    assert {f"/ideas/status/{s}/" for s in statuses} <= hrefs
    assert {f"/tags/{t}/" for i in content.ideas for t in i.meta.get("tags", [])} <= hrefs
    for href in hrefs:
        assert (site_dir / href.lstrip("/") / "index.html").is_file(), href


def test_idea_pages_carry_their_filters(site_dir: Path) -> None:
    page = BeautifulSoup((site_dir / f"ideas/{IDEA}/index.html").read_text(encoding="utf-8"), "html.parser")
    body = page.find(attrs={"data-pagefind-body": True})
    filters = {(el["data-pagefind-filter"].split("[")[0], el["data-value"]) for el in body.find_all(attrs={"data-pagefind-filter": True})}
    assert ("type", "Idea") in filters and ("challenge", "Getting the basics right") in filters
    assert {name for name, _ in filters} == {"type", "challenge", "status", "tag"}


def indexed_text(site_dir: Path) -> dict[str, str]:
    """Each indexed page's text as Pagefind stored it (its fragments: gzip, a fixed prefix, then JSON)."""
    pages = {}
    for fragment in (site_dir / "pagefind" / "fragment").glob("*.pf_fragment"):
        data = json.loads(gzip.decompress(fragment.read_bytes()).removeprefix(b"pagefind_dcd"))
        pages[data["url"]] = data["content"]
    return pages


def test_only_the_content_is_indexed_not_the_page_furniture(site_dir: Path, content: Content) -> None:
    pages = indexed_text(site_dir)
    furniture = re.compile(r"Reference|TH-[0-9A-Z]{5}|Raised by|Shared by|Submitted|Published \d|Started by|Add to calendar|Challenge \d")
    for url, text in pages.items():
        assert not furniture.search(text), f"{url}: the index holds page furniture: {furniture.search(text).group(0)!r} in {text[:200]!r}"
    idea = next(i for i in content.ideas if i.slug == IDEA)
    assert pages[f"/ideas/{IDEA}/"].startswith(idea.meta["title"])


def test_pagefind_output_is_made_stable_without_changing_its_encoding(site_dir: Path, tmp_path: Path) -> None:
    """Two Pagefind runs over the same pages: cbor2 re-encodes each raw data file to its very bytes, and `stabilise` makes the runs equal."""
    pages = sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob("index.html") if "data-pagefind-body" in p.read_text(encoding="utf-8"))
    source = tmp_path / "pages"
    pagefind._copy_tree(site_dir, source, pages)
    runs = []
    for run in ("a", "b"):
        pagefind._index(source, tmp_path / run, timeout=120)
        raw = pagefind._read_tree(tmp_path / run)
        data_files = [rel for rel in raw if rel.endswith((".pf_meta", ".pf_filter"))]
        assert any(rel.endswith(".pf_filter") for rel in data_files)
        for rel in data_files:
            payload = gzip.decompress(raw[rel])
            assert payload.startswith(pagefind.SIGNATURE)
            assert cbor2.dumps(cbor2.loads(payload[len(pagefind.SIGNATURE) :])) == payload[len(pagefind.SIGNATURE) :], rel
        runs.append(pagefind.stabilise(raw))
    assert runs[0] == runs[1]
    assert pagefind.stabilise(runs[0]) == runs[0], "stable output is a fixed point"
