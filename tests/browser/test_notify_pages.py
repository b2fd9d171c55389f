"""The email parts of the forms and the unsubscribe page in the browser, without JavaScript: errors that keep what
was typed, the confirmation's sentence, the unsubscribe page (valid, repeated, tampered), axe at 0 at 320 and 1280 px."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page

from intake.notify.links import link_key, token

from .pages import SHARE, confirmed_reference
from .test_axe import AXE_OPTIONS, describe

WIDTHS = (320, 1280)
ADDRESS = "browser.test@example.nhs.uk"
LINK_KEY = link_key(SimpleNamespace(secret=b"browser-tests", secret_generated=False))  # type: ignore[arg-type]
"""The key the browser tests' intake signs links with (tests/browser/conftest.py: CONSULT_INTAKE_SECRET)."""


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda w: f"{w}px")
def no_js(browser, request):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": request.param, "height": 800}, java_script_enabled=False)
    context.width = request.param
    yield context
    context.close()


def axe_after(browser, width: int, axe_source: str, reach: Callable[[Page], None]) -> list[dict]:  # type: ignore[no-untyped-def]
    """axe over the page `reach` ends on, in a context with JavaScript (axe needs a script; the intake's pages have none of their own)."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        reach(page)
        page.add_script_tag(content=axe_source)
        return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]
    finally:
        context.close()


def fill_idea(page, title: str) -> None:  # type: ignore[no-untyped-def]
    page.select_option("#challenge", "getting-the-basics-right")
    page.fill("#title", title)
    page.fill("#idea", "Staff need a quiet room to rest in on long shifts, away from the ward and the canteen.")
    page.check("#consent")


def submit(page) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation(wait_until="load"):
        page.locator("#share-form [type=submit]").click()


def test_email_without_its_box_is_an_error_that_keeps_the_address_then_emails_are_promised(no_js, live_site, browser, axe_source) -> None:  # type: ignore[no-untyped-def]
    page = no_js.new_page()
    try:
        page.goto(live_site.base_url + SHARE)
        fill_idea(page, f"Browser test: a rest room ({no_js.width}px)")
        page.fill("#email", ADDRESS)
        submit(page)
        summary = page.locator(".nhsuk-error-summary")
        assert "Tick the box to get emails about your idea, or leave the email address empty" in summary.inner_text()
        assert page.locator("#email").input_value() == ADDRESS and not page.locator("#notify").is_checked()
        assert page.locator("#title").input_value().startswith("Browser test: a rest room")
        summary.get_by_role("link").first.click()
        page.check("#notify")
        page.check("#consent")
        submit(page)
        reference = confirmed_reference(page)
        text = page.locator("main").inner_text()
        assert "We will email you when your idea is published or not published, and when it is answered" in text
        assert ADDRESS not in page.content()
    finally:
        page.close()

    def error_page(checked: Page) -> None:
        checked.goto(live_site.base_url + SHARE)
        fill_idea(checked, "Browser test: axe on the email error")
        checked.fill("#email", "")
        checked.check("#notify")
        submit(checked)
        assert "Enter your email address to get emails about your idea, or untick the box" in checked.locator(".nhsuk-error-summary").inner_text()

    violations = axe_after(browser, no_js.width, axe_source, error_page)
    assert not violations, describe(violations)
    assert (
        live_site.intake_store.conn.execute("SELECT email FROM notify_subscriptions WHERE reference = ?", (reference,)).fetchone()["email"] == ADDRESS
    )


def test_the_unsubscribe_page_valid_repeated_and_tampered(no_js, live_site, browser, axe_source) -> None:  # type: ignore[no-untyped-def]
    page = no_js.new_page()
    try:
        page.goto(live_site.base_url + SHARE)
        fill_idea(page, f"Browser test: lockers that lock ({no_js.width}px)")
        page.fill("#email", ADDRESS)
        page.check("#notify")
        submit(page)
        reference = confirmed_reference(page)
        link = f"{live_site.base_url}/intake/unsubscribe/{reference}/{token(LINK_KEY, reference)}"
        for _ in range(2):
            response = page.goto(link, wait_until="load")
            assert response is not None and response.status == 200
            assert page.locator("h1").inner_text() == "You will not get any more emails"
            violations = axe_after(browser, no_js.width, axe_source, lambda checked: checked.goto(link, wait_until="load"))
            assert not violations, describe(violations)
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("link", name=f"Check the status of {reference}").click()
        assert reference in page.locator("main").inner_text()

        response = page.goto(link[:-4] + "AAAA", wait_until="load")
        assert response is not None and response.status == 400
        assert page.locator("h1").inner_text() == "This link to stop emails does not work"
        violations = axe_after(browser, no_js.width, axe_source, lambda checked: checked.goto(link[:-4] + "AAAA", wait_until="load"))
        assert not violations, describe(violations)
    finally:
        page.close()
    row = live_site.intake_store.conn.execute("SELECT 1 FROM notify_subscriptions WHERE reference = ?", (reference,)).fetchone()
    assert row is None
