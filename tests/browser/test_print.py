"""The print stylesheet: an idea prints with its content and its web address, without navigation."""

from __future__ import annotations

import yaml

from .pages import IDEA


def test_idea_page_prints_content_and_address_without_navigation(browser, live_site, artifacts) -> None:
    base_url = yaml.safe_load((live_site.output.parent / "repo" / "site.yml").read_text(encoding="utf-8"))["base_url"].rstrip("/")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(live_site.base_url + IDEA)
        page.emulate_media(media="print")
        hidden = {
            selector: page.locator(selector).first.is_visible()
            for selector in ("header", "header nav", "footer", ".nhsuk-breadcrumb", ".nhsuk-skip-link", "form")
        }
        assert not any(hidden.values()), f"shown in print: {[s for s, shown in hidden.items() if shown]}"
        assert page.locator("h1").is_visible()
        body = page.locator("main article").inner_text()
        assert "The idea" in body and len(body) > 300
        assert page.locator("main article .nhsuk-summary-list").is_visible()
        address = page.locator(".consult-print-url")
        assert address.is_visible(), "the page's web address is not printed"
        assert base_url + IDEA in address.inner_text()
        page.pdf(path=str(artifacts / "idea-print.pdf"), format="A4")
    finally:
        context.close()
