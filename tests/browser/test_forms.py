"""Forms through the real intake: errors shown, focused and announced; with and without JavaScript."""

from __future__ import annotations

import pytest

from .pages import SHARE, confirmed_reference, send_share_form


@pytest.fixture(scope="module", autouse=True)
def needs_intake(live_site):
    if not live_site.with_intake:
        pytest.fail("these checks need the intake (intake.app): it is not importable", pytrace=False)


@pytest.fixture(scope="module", params=[True, False], ids=["js", "no-js"])
def context(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=request.param)
    context.javascript = request.param
    yield context
    context.close()


def test_failed_post_shows_the_error_summary_focused_and_announced(context, live_site) -> None:
    page = context.new_page()
    try:
        page.goto(live_site.base_url + SHARE)
        page.fill("#title", "Kept after the error")
        response = send_share_form(page, fill=False)
        assert response is not None and response.status == 422
        summary = page.locator(".nhsuk-error-summary")
        assert summary.is_visible()
        assert page.title().startswith("Error:"), "the page title does not say there is an error"
        assert summary.locator("[role=alert]").count() or summary.get_attribute("role") == "alert", "the summary is not announced"
        focused = page.evaluate("() => !!document.activeElement.closest('.nhsuk-error-summary')")
        assert focused, f"focus is on {page.evaluate('() => document.activeElement.outerHTML.slice(0, 80)')}, not the error summary"
        assert page.input_value("#title") == "Kept after the error", "what the person typed was lost"
        links = summary.locator("a")
        assert links.count() >= 1
        # Each error links to its field, and the field says what is wrong.
        for i in range(links.count()):
            target = links.nth(i).get_attribute("href")
            assert target and target.startswith("#") and page.locator(target).count() == 1, f"error link {target} has no field"
            described = page.locator(target).get_attribute("aria-describedby") or ""
            group = page.locator(target).locator("xpath=ancestor::div[contains(@class, 'nhsuk-form-group')][1]")
            assert "error" in described or group.locator(".nhsuk-error-message").count(), f"{target} does not show its error"
        first = links.first.get_attribute("href")
        links.first.click()
        assert page.evaluate("() => '#' + document.activeElement.id") == first, "the error link does not move focus to its field"
    finally:
        page.close()


def test_share_form_posts_and_shows_the_confirmation(context, live_site) -> None:
    page = context.new_page()
    try:
        page.goto(live_site.base_url + SHARE)
        response = send_share_form(page)
        assert response is not None and response.status == 200
        reference = confirmed_reference(page)
        assert page.locator("h1").inner_text() == "We have received your idea"
        # Rendered by the intake, with or without JavaScript: the reference is in the green panel itself.
        panel = page.locator(".nhsuk-panel--confirmation")
        assert panel.locator(".consult-reference").inner_text() == reference
        assert panel.locator(".consult-reference").is_visible()
    finally:
        page.close()
