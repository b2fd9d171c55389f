"""Supports and duplicates in a browser: the idea page's support block with and without JavaScript, the count the
script refreshes from counts.json, and axe and reflow on the idea, duplicate, numbers and by-support pages.

The site here is built with support counts and served with a stand-in for the intake's two support routes
(`GET /intake/counts.json`, `POST /intake/supports`), so these tests need nothing from the intake's branch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from generator.build import build
from generator.serve import Rebuilder, create_app
from tests.conftest import BUILD_NOW, copy_sample

from .conftest import free_socket, serving
from .test_axe import AXE_OPTIONS, describe
from .test_reflow import OVERFLOW

ORIGINAL = "hot-food-for-staff-working-nights"
DUPLICATE = "a-canteen-that-stays-open-after-midnight"
CHALLENGE = "/challenges/getting-the-basics-right/"
BUILT_COUNTS = {ORIGINAL: 4, DUPLICATE: 2, "one-login-for-all-clinical-systems": 1}


@dataclass
class CountedSite:
    base_url: str
    counts: dict[str, int]
    """What the stand-in counts.json serves now (a test may change it)."""
    posts: list[dict[str, str]] = field(default_factory=list)
    """Every form the stand-in /intake/supports received."""


def stand_in_intake(site: CountedSite) -> list[Route]:
    async def counts(_request: Request) -> Response:
        return JSONResponse({"generated_at": "2026-11-25T12:00:00Z", "ideas": dict(sorted(site.counts.items()))})

    async def supports(request: Request) -> Response:
        form = dict((await request.form()).items())
        site.posts.append({k: str(v) for k, v in form.items()})
        return RedirectResponse(f"/ideas/{form.get('idea', '')}/", status_code=303)

    return [Route("/intake/counts.json", counts), Route("/intake/supports", supports, methods=["POST"])]


@pytest.fixture(scope="module")
def counted_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountedSite]:
    root = copy_sample(tmp_path_factory.mktemp("counted") / "repo")
    output = build(root, root.parent / "_site", now=BUILD_NOW, supports=BUILT_COUNTS).output
    sock, base_url = free_socket()
    site = CountedSite(base_url, dict(BUILT_COUNTS))
    static = create_app(root, output, Rebuilder(root, output, site.base_url), with_intake=False)
    app = Starlette(routes=[*stand_in_intake(site), Mount("/", app=static)])
    with serving(app, sock, lifespan="off"):
        yield site


@pytest.fixture
def no_script(browser):
    context = browser.new_context(java_script_enabled=False)
    yield context
    context.close()


@pytest.fixture
def scripted(browser):
    context = browser.new_context()
    yield context
    context.close()


def count_text(page) -> str:
    return page.locator("#support-count").inner_text().strip()


def test_without_javascript_the_built_count_shows_and_the_form_posts(no_script, counted_site: CountedSite) -> None:
    page = no_script.new_page()
    page.goto(f"{counted_site.base_url}/ideas/{ORIGINAL}/")
    assert count_text(page) == "6 people support this idea"
    button = page.get_by_role("button", name="I support this idea")
    assert button.is_visible()
    with page.expect_navigation():
        button.click()
    assert counted_site.posts[-1] == {"idea": ORIGINAL, "action": "support", "website": ""}
    assert page.url.endswith(f"/ideas/{ORIGINAL}/")


def test_the_button_is_reached_by_keyboard(no_script, counted_site: CountedSite) -> None:
    page = no_script.new_page()
    page.goto(f"{counted_site.base_url}/ideas/{ORIGINAL}/")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "I support this idea":
            break
    else:
        pytest.fail("Tab never reached the support button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert counted_site.posts[-1]["idea"] == ORIGINAL


def test_the_script_refreshes_the_count(scripted, counted_site: CountedSite) -> None:
    counted_site.counts = {**BUILT_COUNTS, ORIGINAL: 11}
    try:
        page = scripted.new_page()
        page.goto(f"{counted_site.base_url}/ideas/{ORIGINAL}/")
        page.wait_for_function("document.getElementById('support-count').textContent.startsWith('11 ')")
        assert count_text(page) == "11 people support this idea", "the served count is the original's, duplicates folded in by the intake"
        page.goto(f"{counted_site.base_url}/ideas/proper-rest-rooms-for-breaks-on-long-shifts/")
        page.wait_for_load_state("networkidle")
        assert count_text(page) == "No one has supported this idea yet"
    finally:
        counted_site.counts = dict(BUILT_COUNTS)


def test_the_script_fills_in_a_count_the_build_did_not_have(scripted, live_site) -> None:
    """The session's site was built without counts: the element is empty and hidden until counts.json answers."""
    page = scripted.new_page()
    page.route("**/intake/counts.json", lambda route: route.fulfill(json={"generated_at": "2026-11-25T12:00:00Z", "ideas": {ORIGINAL: 1}}))
    page.goto(f"{live_site.base_url}/ideas/{ORIGINAL}/")
    page.wait_for_function("!document.getElementById('support-count').hidden")
    assert count_text(page) == "1 person supports this idea"


def test_a_failing_counts_json_leaves_the_page_as_built(scripted, live_site) -> None:
    page = scripted.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/intake/counts.json", lambda route: route.fulfill(status=503, body="down"))
    page.goto(f"{live_site.base_url}/ideas/{ORIGINAL}/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#support-count").is_hidden() and not errors


PAGES = {
    "idea with a count": f"/ideas/{ORIGINAL}/",
    "duplicate idea": f"/ideas/{DUPLICATE}/",
    "numbers with supports": "/numbers/",
    "ideas by support": f"{CHALLENGE}by-support/",
}


@pytest.mark.parametrize("width", [1280, 320], ids=lambda w: f"{w}px")
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_and_reflow(name: str, width: int, browser, counted_site: CountedSite, axe_source: str) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        response = page.goto(counted_site.base_url + PAGES[name], wait_until="load")
        assert response is not None and response.status == 200
        page.wait_for_load_state("networkidle")
        page.add_script_tag(content=axe_source)
        result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
        found = page.evaluate(OVERFLOW)
    finally:
        context.close()
    assert not result["violations"], f"{name} at {width}px:\n{describe(result['violations'])}"
    assert found["scrollWidth"] <= found["viewport"] and not found["cut"], f"{name} at {width}px: {json.dumps(found)}"


def test_the_duplicate_page_leads_to_the_original(scripted, counted_site: CountedSite) -> None:
    page = scripted.new_page()
    page.goto(f"{counted_site.base_url}/ideas/{DUPLICATE}/")
    page.get_by_role("link", name="Go to the idea: Hot food for staff working nights").click()
    page.wait_for_url(f"**/ideas/{ORIGINAL}/")
    assert page.locator("h1").inner_text() == "Hot food for staff working nights"


def test_sorting_by_support_without_javascript(no_script, counted_site: CountedSite) -> None:
    page = no_script.new_page()
    page.goto(counted_site.base_url + CHALLENGE)
    page.get_by_role("navigation", name="Sort ideas").get_by_role("link", name="Most supported").click()
    page.wait_for_url(f"**{CHALLENGE}by-support/#ideas")
    first = page.locator("#ideas ~ ul.consult-card-list h3").first.inner_text()
    assert first == "Hot food for staff working nights"
