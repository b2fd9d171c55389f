""" "I support this idea" in the browser: the intake's support page in each state, with and without JavaScript,
supporting and withdrawing, the problem pages (unknown idea, closed challenge, too many), axe at 0 on every one.

Journeys that start on the idea page use the support form the site builds into it, sent as a browser sends it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from generator.serve import Rebuilder
from generator.serve import create_app as create_static
from intake.app import create_app as create_intake
from intake.settings import IntakeSettings
from intake.support import COOKIE
from intake.support_store import SupportChange, token_hash

from .conftest import free_socket, serving, with_intake
from .test_axe import AXE_OPTIONS, describe

OPEN_IDEA = "hot-food-for-staff-working-nights"
CLOSING_IDEA = "bystander-training-for-every-team"
"""Its challenge closes on 31 January 2027."""
WIDTHS = (320, 1280)


def the_idea_pages_form(page, slug: str) -> None:
    """The support form the site builds into the idea page (contract item 1): one, posting to the intake."""
    form = page.locator("form[action$='/intake/supports']")
    assert form.count() == 1, "the built idea page carries one support form"
    assert form.locator("input[name=idea]").get_attribute("value") == slug


def assert_axe_clean(page, axe_source: str, where: str) -> None:
    """axe-core over the page as it is. (Each width gets a page of its own, opened at that width: resizing an open
    page leaves the header's menu part-way through rearranging itself, which axe would judge.)"""
    page.add_script_tag(content=axe_source)
    violations = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]
    assert not violations, f"{where} @{page.viewport_size['width']}px:\n{describe(violations)}"


def axe_in_a_scripted_copy(browser, url: str, cookies: list, axe_source: str, where: str, width: int) -> None:
    """axe needs a script: the same server-rendered page (it has no script of its own), opened with the same cookie."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        context.add_cookies(cookies)
        page = context.new_page()
        page.goto(url, wait_until="load")
        assert_axe_clean(page, axe_source, where)
    finally:
        context.close()


def main_text(page) -> str:
    return " ".join(page.locator("main").inner_text().split())


def click_and_wait(page, name: str):  # type: ignore[no-untyped-def]
    with page.expect_navigation(wait_until="load") as navigation:
        page.get_by_role("button", name=name).click()
    return navigation.value


@pytest.mark.parametrize("width", WIDTHS)
def test_support_and_withdraw_without_javascript(browser, live_site, axe_source, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800}, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_site.base_url}/intake/supports/{OPEN_IDEA}", wait_until="load")
        assert page.locator("h1").inner_text() == "Support this idea"
        before = page.locator("#support-count").inner_text()
        assert context.cookies() == [], "no cookie until the person supports an idea"
        axe_in_a_scripted_copy(browser, page.url, [], axe_source, "not supported", width)

        response = click_and_wait(page, "I support this idea")
        assert response.status == 200 and page.url == f"{live_site.base_url}/intake/supports/{OPEN_IDEA}"
        assert page.locator("h1").inner_text() == "You support this idea"
        count = page.locator("#support-count").inner_text()
        assert count != before and ("supports this idea" in count or "support this idea" in count)
        cookie = next(c for c in context.cookies() if c["name"] == COOKIE)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/intake"
        axe_in_a_scripted_copy(browser, page.url, context.cookies(), axe_source, "supported", width)

        assert page.get_by_role("button", name="I support this idea").count() == 0
        response = click_and_wait(page, "Withdraw my support")
        assert response.status == 200 and page.locator("h1").inner_text() == "Support this idea"
        assert page.locator("#support-count").inner_text() == before
        axe_in_a_scripted_copy(browser, page.url, context.cookies(), axe_source, "withdrawn", width)

        with page.expect_navigation(wait_until="load"):
            page.get_by_role("link", name="Back to ‘Hot food for staff working nights’").click()
        assert page.url == f"{live_site.base_url}/ideas/{OPEN_IDEA}/"
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_support_from_the_idea_page_with_javascript(browser, live_site, axe_source, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{live_site.base_url}/ideas/{OPEN_IDEA}/", wait_until="load")
        the_idea_pages_form(page, OPEN_IDEA)
        click_and_wait(page, "I support this idea")
        assert page.url == f"{live_site.base_url}/intake/supports/{OPEN_IDEA}"
        assert main_text(page).startswith("Hot food for staff working nights You support this idea")
        assert_axe_clean(page, axe_source, "supported, with JavaScript")

        click_and_wait(page, "Withdraw my support")
        assert page.locator("h1").inner_text() == "Support this idea"
        assert_axe_clean(page, axe_source, "withdrawn, with JavaScript")
        click_and_wait(page, "I support this idea")
        assert page.locator("h1").inner_text() == "You support this idea"
    finally:
        context.close()


@contextlib.contextmanager
def site_at(root: Path, output: Path, **environ: str) -> Iterator[tuple[str, Starlette]]:
    """The built site with an intake of its own (its own store and clock), on a free port of 127.0.0.1."""
    data = Path(tempfile.mkdtemp(prefix="consult-supports-"))
    sock, base_url = free_socket()
    env = {"CONSULT_INTAKE_DATA": str(data), "CONSULT_INTAKE_SECRET": "browser-tests", **environ}
    intake = create_intake(IntakeSettings.from_environment(root, site_dir=output, base_url=base_url, environ=env, run_worker=False))
    static = create_static(root, output, Rebuilder(root, output, base_url), with_intake=False)
    try:
        with serving(with_intake(static, intake), sock):
            yield base_url, intake
    finally:
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def after_closing(live_site) -> Iterator[tuple[str, Starlette]]:
    """The site on 1 March 2027, when 'Free from bullying' has closed; two supports per address an hour (a fresh
    intake and store for each test)."""
    with site_at(
        live_site.output.parent / "repo", live_site.output, CONSULT_NOW="2027-03-01T12:00", CONSULT_INTAKE_RATE_LIMIT_SUPPORTS="2/3600"
    ) as site:
        yield site


def test_a_closed_challenge_in_every_state(browser, after_closing, axe_source) -> None:
    base_url, intake = after_closing
    supports = intake.state.supports
    token = supports.cookie.new_token()
    supports.store.change_now(SupportChange(token_hash(token), (CLOSING_IDEA,), True))
    for cookies, heading in (
        ([{"name": COOKIE, "value": supports.cookie.value(token), "url": base_url}], "You support this idea"),
        ([], "This idea no longer takes support"),
    ):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False)
        try:
            context.add_cookies(cookies)
            page = context.new_page()
            page.goto(f"{base_url}/intake/supports/{CLOSING_IDEA}", wait_until="load")
            assert page.locator("h1").inner_text() == heading
            assert "closed on 31 January 2027" in main_text(page)
            assert page.get_by_role("button", name="I support this idea").count() == 0
            assert page.get_by_role("button", name="Withdraw my support").count() == (1 if cookies else 0)
            for width in WIDTHS:
                axe_in_a_scripted_copy(browser, page.url, cookies, axe_source, heading, width)
        finally:
            context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_problem_pages_say_what_happened_and_pass_axe(browser, after_closing, axe_source, width: int) -> None:
    """A closed challenge (409), then too many in a short time (429), from the idea page's form; an unknown idea (404)."""
    base_url, _ = after_closing
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{base_url}/ideas/{CLOSING_IDEA}/", wait_until="load")
        the_idea_pages_form(page, CLOSING_IDEA)
        assert click_and_wait(page, "I support this idea").status == 409
        assert page.locator("h1").inner_text() == "This idea no longer takes support"
        assert "closed on 31 January 2027" in main_text(page)
        assert page.get_by_role("link", name="Back to ‘Bystander training for every team’").count() == 1
        assert_axe_clean(page, axe_source, "closed challenge (409)")

        for expected in (303, 429):
            page.goto(f"{base_url}/ideas/{OPEN_IDEA}/", wait_until="load")
            the_idea_pages_form(page, OPEN_IDEA)
            with page.expect_response(lambda r: r.url.endswith("/intake/supports") and r.request.method == "POST") as posted:
                click_and_wait(page, "I support this idea")
            assert posted.value.status == expected
        assert page.locator("h1").inner_text() == "You have done that a lot in a short time"
        assert "Wait" in main_text(page)
        assert_axe_clean(page, axe_source, "too many (429)")

        response = page.goto(f"{base_url}/intake/supports/no-such-idea", wait_until="load")
        assert response is not None and response.status == 404
        assert page.locator("h1").inner_text() == "We could not find that idea"
        assert_axe_clean(page, axe_source, "unknown idea (404)")
    finally:
        context.close()
