"""The intake's own pages in the browser: the confirmation page without JavaScript, the status page in every state,
status words and colours the same on every page, references never broken at 320px, and the site's footer."""

from __future__ import annotations

from collections import defaultdict

import pytest

from generator.schema import IDEA_STATUS_LABELS, IdeaStatus
from generator.theme import STATUS_TAG_COLOURS
from intake.pages import STATE_TAGS

from .pages import CHALLENGE, IDEA, SHARE, confirmed_reference, send_share_form
from .test_axe import AXE_OPTIONS, describe

WIDTHS = (320, 1280)
TAGS_JS = """() => [...document.querySelectorAll('main strong.nhsuk-tag')].map(tag => ({
  text: tag.innerText.trim(),
  colours: [...tag.classList].filter(c => c.startsWith('nhsuk-tag--')),
}))"""
REFERENCES_JS = """() => [...document.querySelectorAll('.consult-reference')].map(el => ({
  text: el.innerText, lines: el.getClientRects().length, whiteSpace: getComputedStyle(el).whiteSpace,
}))"""
FOOTER_JS = "() => [...document.querySelectorAll('footer a')].map(a => [a.innerText.trim(), new URL(a.href).pathname])"


@pytest.fixture(scope="module", autouse=True)
def needs_intake(live_site):
    if not live_site.with_intake:
        pytest.fail("these checks need the intake (intake.app): it is not importable", pytrace=False)


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda w: f"{w}px")
def no_js(browser, request):
    """Without JavaScript, as on a locked-down ward PC."""
    context = browser.new_context(viewport={"width": request.param, "height": 800}, java_script_enabled=False)
    context.width = request.param
    yield context
    context.close()


def axe_violations(browser, url: str, width: int, axe_source: str) -> list[dict]:
    """axe-core over the page at url. It needs a script, so in a context with JavaScript: the page is the same
    server-rendered HTML as without (the intake's pages have no script of their own)."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.add_script_tag(content=axe_source)
        return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]
    finally:
        context.close()


def assert_references_unbroken(page, where: str) -> None:
    references = page.evaluate(REFERENCES_JS)
    assert references, f"{where}: no reference shown"
    for ref in references:
        assert ref["whiteSpace"] == "nowrap" and ref["lines"] == 1, f"{where}: the reference {ref['text']!r} is broken across {ref['lines']} lines"


def test_confirmation_without_javascript_has_the_reference_in_the_panel_and_leads_to_the_status(no_js, live_site, browser, axe_source) -> None:
    page = no_js.new_page()
    try:
        page.goto(live_site.base_url + SHARE)
        title = "Browser test: lockers for night staff"
        page.select_option("#challenge", "getting-the-basics-right")
        page.fill("#title", title)
        page.fill("#idea", "Night staff need somewhere safe to keep their things, with lockers that work.")
        page.check("#consent")
        with page.expect_navigation(wait_until="load"):
            page.locator("#share-form [type=submit]").click()
        reference = confirmed_reference(page)
        panel = page.locator(".nhsuk-panel--confirmation")
        assert panel.locator("h1").inner_text() == "We have received your idea"
        assert panel.locator(".consult-reference").inner_text() == reference and panel.locator(".consult-reference").is_visible()
        assert "We will not email you about it" in page.locator("main").inner_text()
        assert "address bar" not in page.locator("main").inner_text()
        assert_references_unbroken(page, f"confirmation @{no_js.width}px")
        violations = axe_violations(browser, page.url, no_js.width, axe_source)
        assert not violations, describe(violations)

        with page.expect_navigation(wait_until="load"):
            page.get_by_role("link", name=f"Check the status of {reference}").click()
        assert page.url.endswith(f"/intake/status/{reference}")
        rows = dict(zip(page.locator(".nhsuk-summary-list__key").all_inner_texts(), page.locator(".nhsuk-summary-list__value").all_inner_texts()))
        assert rows["Status"].strip() == "Received" and rows["Reference"].strip() == reference
        assert rows["Challenge"].strip() == "Getting the basics right" and rows["Title"].strip() == title
        assert rows["Your idea"].strip().startswith("Night staff need somewhere safe")
        assert_references_unbroken(page, f"status @{no_js.width}px")
    finally:
        page.close()


def test_the_status_page_in_every_state_passes_axe_with_its_own_word_and_colour(no_js, live_site, browser, axe_source) -> None:
    store = live_site.intake_store
    fields = {
        "challenge": "getting-the-basics-right",
        "title": "Browser test: a state of its own",
        "idea": "Text of an idea put in each state.",
        "role": "",
        "region": "",
        "name": "",
    }
    references = {state: store.add_now("idea", fields, None) for state in STATE_TAGS}
    store.mark_proposed({references["proposed"]: "submissions/" + references["proposed"]})
    store.decide(references["merged"], "merged")
    store.decide(references["closed"], "closed", "It repeats an idea already on the site.")
    page = no_js.new_page()
    try:
        for state, (word, colour) in STATE_TAGS.items():
            page.goto(f"{live_site.base_url}/intake/status/{references[state]}", wait_until="load")
            assert page.evaluate(TAGS_JS) == [{"text": word, "colours": [f"nhsuk-tag--{colour}"]}], state
            assert_references_unbroken(page, f"status {state} @{no_js.width}px")
            violations = axe_violations(browser, page.url, no_js.width, axe_source)
            assert not violations, f"status page, {state}, @{no_js.width}px:\n{describe(violations)}"
    finally:
        page.close()


def first_idea_link(page) -> str:
    return page.locator(".nhsuk-card__link").first.get_attribute("href") or ""


def test_status_words_and_colours_are_the_same_on_every_page(browser, live_site) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    seen: dict[str, set[str]] = defaultdict(set)
    where: dict[str, str] = {}
    try:
        paths = ["/", "/ideas/", CHALLENGE, CHALLENGE + "status/waiting/", IDEA, "/tags/food-at-night/"]
        for status in IdeaStatus:
            page.goto(f"{live_site.base_url}/ideas/status/{status.value}/", wait_until="load")
            paths += [f"/ideas/status/{status.value}/", first_idea_link(page)]
        store = live_site.intake_store
        fields = {"challenge": "getting-the-basics-right", "title": "Browser test: colours", "idea": "Text.", "role": "", "region": "", "name": ""}
        received, proposed, merged, closed = (store.add_now("idea", fields, None) for _ in range(4))
        store.mark_proposed({proposed: "submissions/" + proposed})
        store.decide(merged, "merged")
        store.decide(closed, "closed")
        paths += [f"/intake/status/{ref}" for ref in (received, proposed, merged, closed)]
        for path in paths:
            page.goto(live_site.base_url + path, wait_until="load")
            for tag in page.evaluate(TAGS_JS):
                seen[tag["text"]].update(tag["colours"])
                where.setdefault(tag["text"], path)
            for card in page.locator(".nhsuk-card").all_inner_texts():
                assert card.count("Published") <= 1, f"{path}: a card repeats 'Published': {card!r}"
        page.goto(live_site.base_url + "/numbers/", wait_until="load")
        numbers = page.locator("main").inner_text()
    finally:
        context.close()
    assert all(len(colours) == 1 for colours in seen.values()), f"a status word with more than one colour: {dict(seen)}"
    by_colour: dict[str, list[str]] = defaultdict(list)
    for word, colours in seen.items():
        by_colour[next(iter(colours))].append(word)
    assert all(len(words) == 1 for words in by_colour.values()), f"a colour used for more than one status: {dict(by_colour)}"
    expected = {IDEA_STATUS_LABELS[s]: {f"nhsuk-tag--{STATUS_TAG_COLOURS[s]}"} for s in IdeaStatus}
    expected |= {word: {f"nhsuk-tag--{colour}"} for word, colour in STATE_TAGS.values()}
    assert dict(seen) == expected, f"tags seen (first page of each: {where})"
    assert all(label in numbers for label in IDEA_STATUS_LABELS.values()), "the numbers page names every status as the tags do"


def test_every_intake_page_has_the_sites_footer(browser, live_site) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(live_site.base_url + SHARE, wait_until="load")
        site_footer = page.evaluate(FOOTER_JS)
        assert ["Search", "/search/"] in site_footer and ["Open data", "/data/"] in site_footer
        send_share_form(page, fill=False)
        assert page.evaluate(FOOTER_JS) == site_footer, "the intake's error page"
        page.goto(live_site.base_url + SHARE, wait_until="load")
        send_share_form(page)
        assert page.evaluate(FOOTER_JS) == site_footer, "the confirmation page"
        page.goto(f"{live_site.base_url}/intake/status/{confirmed_reference(page)}", wait_until="load")
        assert page.evaluate(FOOTER_JS) == site_footer, "the status page"
        page.goto(f"{live_site.base_url}/intake/status/TH-ZZZZZ", wait_until="load")
        assert page.evaluate(FOOTER_JS) == site_footer, "the status page of an unknown reference"
    finally:
        context.close()
