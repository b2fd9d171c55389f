"""Page weight as the browser counts it, and caching: a first visit and a repeat visit per page type.

Each page type is opened in a fresh browser context (an empty cache), every
response body the browser received (decoded) is gzip-compressed here at one
level, as a static host would send it, and the totals are held to the budget.
Then a second page is opened in the same context: the server must be asked
for its HTML and nothing else, since the fingerprinted assets are cached for
a year (generator/serve.py sets the headers; the static host must match).
"""

from __future__ import annotations

import gzip
import time
from collections import defaultdict
from urllib.parse import urlsplit

import pytest

from .pages import PAGE_TYPES, PageType

KB = 1024
BUDGET_TOTAL = 100 * KB
BUDGET_JS = 15 * KB
KINDS = ("document", "stylesheet", "script", "image", "font", "other")
FIGURES: dict[str, dict[str, int]] = {}

BLOCKING = """() => ({
  stylesheets: [...document.querySelectorAll('link[rel~="stylesheet"]')]
    .filter(l => !l.media || l.media === "all" || l.media === "screen").map(l => l.href),
  blockingScripts: [...document.querySelectorAll("script[src]")]
    .filter(s => s.type !== "module" && !s.defer && !s.async).map(s => s.src),
  headInlineScripts: [...document.head.querySelectorAll("script:not([src])")]
    .filter(s => s.type !== "application/ld+json" && s.type !== "importmap").length,
  imports: [...document.styleSheets].flatMap(sheet => { try { return [...sheet.cssRules]; } catch (e) { return []; } })
    .filter(rule => rule instanceof CSSImportRule).map(rule => rule.href),
})"""


def kind(resource_type: str) -> str:
    return resource_type if resource_type in KINDS else "other"


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def gzip_size(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=6))


def table() -> str:
    head = f"{'page type':<22}" + "".join(f"{k:>11}" for k in ("HTML", "CSS", "JS", "images", "other", "total", "repeat")) + "  (bytes, gzip)"
    rows = [head]
    for name, f in FIGURES.items():
        other = f["font"] + f["other"]
        cells = (f["document"], f["stylesheet"], f["script"], f["image"], other, f["total"], f["repeat"])
        rows.append(f"{name:<22}" + "".join(f"{c:>11,}" for c in cells))
    rows.append(
        f"budget: total ≤ {BUDGET_TOTAL:,} bytes, JavaScript ≤ {BUDGET_JS:,} bytes; 'repeat' = bytes the server sent for a visit to another page type right after this one (HTML only, or HTML + assets only that page uses)"
    )
    return "\n".join(rows)


@pytest.fixture(scope="module", autouse=True)
def report(artifacts):
    yield
    if FIGURES:
        text = table()
        (artifacts / "page-weight.txt").write_text(text + "\n", encoding="utf-8")
        print("\n\nPage weight per page type (first visit, gzip)\n" + text)


def settle(page, live_site, quiet: float = 0.4, limit: float = 3.0) -> None:
    """Wait until the server has had no request for `quiet` seconds (late fetches such as the
    favicon come after the load event); quicker than Playwright's 500 ms `networkidle`."""
    deadline = time.monotonic() + limit
    seen = live_site.requests.mark()
    while time.monotonic() < deadline:
        page.wait_for_timeout(quiet * 1000)
        now = live_site.requests.mark()
        if now == seen:
            return
        seen = now


def next_page(page_type: PageType) -> PageType:
    """Another plain page type to visit second (no form posts), so that every page type is visited second once."""
    plain = [p for p in PAGE_TYPES if p.reach is None and p.status == 200 and p.path != page_type.path]
    return plain[PAGE_TYPES.index(page_type) % len(plain)]


def body_of(response) -> bytes | None:
    """The response's body, or None when it belonged to a document the browser has navigated away from."""
    from playwright.sync_api import Error

    try:
        return response.body()
    except Error as error:
        if "navigated away" in str(error) or "No resource with given identifier" in str(error):
            return None
        raise


@pytest.mark.parametrize("page_type", PAGE_TYPES, ids=str)
def test_page_weight_and_repeat_visit(page_type: PageType, browser, live_site) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    responses = []
    try:
        page = context.new_page()
        # Count only what the final page needs: a page reached through a form post (or a
        # second visit) starts afresh at each top-level navigation, redirects included.
        navigations = [0]

        def on_request(request) -> None:
            if request.is_navigation_request() and request.frame == page.main_frame:
                navigations[0] += 1
            request_nav[request] = navigations[0]

        request_nav: dict = {}
        page.on("request", on_request)
        page.on("response", lambda r: responses.append(r))
        start = live_site.requests.mark()
        page_type.open(page, live_site.base_url)
        settle(page, live_site)
        bytes_by_kind: dict[str, int] = defaultdict(int)
        foreign = []
        for response in [r for r in responses if request_nav.get(r.request) == navigations[0]]:
            if not response.url.startswith(live_site.base_url):
                foreign.append(response.url)
            if 300 <= response.status < 400:
                continue
            body = body_of(response)
            if body is None:
                continue  # asked for by the page we left (a late module import), not by this one
            bytes_by_kind[kind(response.request.resource_type)] += gzip_size(body)
        blocking = page.evaluate(BLOCKING)

        second = next_page(page_type)
        mark = live_site.requests.mark()
        repeat = []
        page.on("response", lambda r: repeat.append(r))
        page.goto(live_site.base_url + second.path, wait_until="load")
        settle(page, live_site)
        asked = live_site.requests.since(mark)
        first_visit = {path for _, path, _ in live_site.requests.since(start)[: mark - start]}
        fetched = {path for _, path, _ in asked}
        repeat_bytes = sum(
            gzip_size(body) for r in repeat if not 300 <= r.status < 400 and path_of(r.url) in fetched and (body := body_of(r)) is not None
        )
    finally:
        context.close()

    figures = {k: bytes_by_kind.get(k, 0) for k in KINDS}
    figures["total"] = sum(bytes_by_kind.values())
    figures["repeat"] = repeat_bytes
    FIGURES[page_type.name] = figures
    summary = ", ".join(f"{k} {v:,}" for k, v in figures.items())

    assert not foreign, f"{page_type.name}: requests to another origin: {foreign}"
    assert figures["total"] <= BUDGET_TOTAL, f"{page_type.name}: {figures['total']:,} bytes over the {BUDGET_TOTAL:,} budget ({summary})"
    assert figures["script"] <= BUDGET_JS, f"{page_type.name}: {figures['script']:,} bytes of JavaScript, over {BUDGET_JS:,} ({summary})"
    assert len(blocking["stylesheets"]) == 1, f"{page_type.name}: render-blocking stylesheets: {blocking['stylesheets']}"
    assert not blocking["blockingScripts"], f"{page_type.name}: parser-blocking scripts: {blocking['blockingScripts']}"
    assert not blocking["headInlineScripts"], f"{page_type.name}: inline scripts in <head> block rendering"
    assert not blocking["imports"], f"{page_type.name}: @import in the stylesheet chains a blocking request: {blocking['imports']}"
    expected = path_of(live_site.base_url + second.path)
    again = [(m, p, status) for m, p, status in asked if p in first_visit and p != expected]
    assert ("GET", expected) in [(m, p) for m, p, _ in asked], f"the repeat visit to {second.name} did not fetch its page"
    assert not again, (
        f"after {page_type.name}, a repeat visit to {second.name} fetched again (or revalidated) {again}; "
        f"only its HTML, and assets no earlier page used, should be fetched"
    )
