"""Keyboard use (WCAG 2.1.1, 2.4.1, 2.4.3, 2.4.7, 2.4.11): skip link, tab order, visible focus, forms by keyboard alone."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from .pages import CHALLENGE, PAGE_TYPES, SHARE, PageType, confirmed_reference

TABBABLE = """() => {
  const candidates = document.querySelectorAll(
    'a[href], area[href], button, input, select, textarea, iframe, summary, [tabindex], [contenteditable=""], [contenteditable="true"]');
  const stops = [...candidates].filter(el =>
    !el.disabled && el.tabIndex >= 0 && el.type !== "hidden" && !el.closest("[inert]") &&
    el.getClientRects().length > 0 && el.checkVisibility({visibilityProperty: true}));
  stops.forEach((el, i) => el.dataset.tabStop = i);
  return stops.map(el => el.outerHTML.slice(0, 120));
}"""

FOCUS_STYLE = """el => {
  const props = ["outlineStyle", "outlineWidth", "outlineColor", "boxShadow", "backgroundColor", "color",
                 "textDecorationLine", "textDecorationThickness", "borderTopColor", "borderBottomColor", "borderBottomWidth"];
  const snap = (node, pseudo) => { const s = getComputedStyle(node, pseudo); return props.map(p => p + ":" + s[p]).join("; "); };
  const parts = [snap(el, null), snap(el, "::before"), snap(el, "::after"), snap(el.parentElement, null)];
  // A visually hidden checkbox shows its focus on the label's box (::before).
  for (const label of el.labels || []) parts.push(snap(label, null), snap(label, "::before"), snap(label, "::after"));
  const r = el.getBoundingClientRect();
  return {parts, inView: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth};
}"""

ACTIVE = (
    "() => document.activeElement && document.activeElement.dataset.tabStop !== undefined ? Number(document.activeElement.dataset.tabStop) : null"
)


def shows_focus(focused: list[str], resting: list[str]) -> bool:
    """Whether focusing changed a style a person can see: not just to a transparent outline."""
    for now, before in zip(focused, resting):
        if now == before:
            continue
        changed = {p.split(":", 1)[0] for p, q in zip(now.split("; "), before.split("; ")) if p != q}
        visible = changed - {"outlineColor", "outlineWidth", "outlineStyle"}
        if visible:
            return True
        outline = dict(p.split(":", 1) for p in now.split("; "))
        if outline["outlineStyle"] != "none" and outline["outlineWidth"] != "0px" and "0)" not in outline["outlineColor"]:
            return True
    return False


@pytest.fixture(scope="module")
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.mark.parametrize("page_type", PAGE_TYPES, ids=str)
def test_skip_link_is_first_and_moves_focus_to_main(page_type: PageType, context, live_site) -> None:
    page = context.new_page()
    try:
        page_type.open(page, live_site.base_url)
        # A page may move focus on load (the error summary after a failed post); the
        # skip link must still be the first stop from the top of the page.
        page.evaluate("() => { document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute('tabindex'); }")
        page.keyboard.press("Tab")
        first = page.evaluate(
            "() => ({cls: document.activeElement.className, href: document.activeElement.getAttribute('href'), text: document.activeElement.textContent.trim()})"
        )
        assert "nhsuk-skip-link" in first["cls"], f"{page_type.name}: first Tab stop is {first}, not the skip link"
        page.keyboard.press("Enter")
        focus = page.evaluate(
            "() => ({tag: document.activeElement.tagName, id: document.activeElement.id, inMain: !!document.activeElement.closest('main')})"
        )
        assert focus["inMain"], f"{page_type.name}: after the skip link, focus is on {focus}, not in <main>"
        page.keyboard.press("Tab")
        after = page.evaluate(
            "() => { const main = document.querySelector('main'), a = document.activeElement;"
            " return main.contains(a) || !!(main.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING); }"
        )
        assert after, f"{page_type.name}: the Tab after the skip link goes back before <main>"
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/", CHALLENGE, SHARE], ids=["home", "challenge", "share form"])
def test_tab_reaches_every_control_in_order_with_visible_focus(path: str, context, live_site) -> None:
    page = context.new_page()
    try:
        page.goto(live_site.base_url + path)
        stops = page.evaluate(TABBABLE)
        assert len(stops) > 10, f"{path}: only {len(stops)} tab stops found"
        reached, focused_styles = [], {}
        for _ in range(len(stops) + 1):
            page.keyboard.press("Tab")
            index = page.evaluate(ACTIVE)
            if index is None:
                break
            reached.append(index)
            focused_styles[index] = page.evaluate(FOCUS_STYLE, page.evaluate_handle("document.activeElement"))
        assert reached == list(range(len(stops))), (
            f"{path}: Tab order {reached} does not follow the {len(stops)} stops in DOM order; "
            f"first difference at stop {next((i for i, (a, b) in enumerate(zip(reached, range(len(stops)))) if a != b), len(reached))}"
        )
        page.evaluate("() => document.activeElement.blur()")
        unseen, hidden = [], []
        for index, focused in focused_styles.items():
            element = page.locator(f"[data-tab-stop='{index}']")
            resting = element.evaluate(FOCUS_STYLE)
            if not shows_focus(focused["parts"], resting["parts"]):
                unseen.append(stops[index])
            if not focused["inView"]:
                hidden.append(stops[index])
        assert not unseen, f"{path}: no visible focus indicator on: {unseen}"
        assert not hidden, f"{path}: focused but scrolled out of view: {hidden}"
    finally:
        page.close()


def test_share_form_can_be_filled_and_sent_by_keyboard_alone(browser, live_site) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    posts = []
    context.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    if not live_site.with_intake:
        pytest.fail("this check needs the intake (intake.app): it is not importable", pytrace=False)
    page = context.new_page()
    try:
        page.goto(live_site.base_url + SHARE)

        def tab_to(element_id: str) -> None:
            for _ in range(60):
                page.keyboard.press("Tab")
                if page.evaluate("() => document.activeElement.id") == element_id:
                    return
            raise AssertionError(f"Tab never reached #{element_id}")

        tab_to("challenge")
        page.keyboard.press("ArrowDown")
        tab_to("title")
        page.keyboard.type("Quiet rooms for breaks on every ward")
        tab_to("idea")
        page.keyboard.type("Every ward should have a quiet room where staff can take a real break away from patients and phones.")
        tab_to("role")
        page.keyboard.press("ArrowDown")
        tab_to("consent")
        page.keyboard.press("Space")
        assert page.is_checked("#consent")
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.type") == "submit":
                break
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert len(posts) == 1 and posts[0].url.endswith("/intake/ideas")
        sent = parse_qs(posts[0].post_data or "")
        assert sent["title"] == ["Quiet rooms for breaks on every ward"]
        assert sent["consent"] == ["yes"]
        assert sent["challenge"][0] and sent["role"][0]
        reference = confirmed_reference(page)
        assert page.locator("h1").inner_text() == "We have received your idea"
        assert page.locator(".nhsuk-panel--confirmation .consult-reference").inner_text() == reference
    finally:
        context.close()


def test_focus_check_tells_visible_from_invisible_focus(context) -> None:
    """Guards against a silent pass: a link whose focus style is removed must be caught."""
    page = context.new_page()
    try:
        page.set_content(
            "<style>a { outline: none; } #seen:focus { outline: 3px solid #ffeb3b; }</style>"
            '<a id="seen" href="#a">seen</a> <a id="unseen" href="#b">unseen</a>'
        )
        results = {}
        for element_id in ("seen", "unseen"):
            handle = page.locator(f"#{element_id}")
            resting = handle.evaluate(FOCUS_STYLE)["parts"]
            handle.focus()
            results[element_id] = shows_focus(handle.evaluate(FOCUS_STYLE)["parts"], resting)
            handle.evaluate("el => el.blur()")
        assert results == {"seen": True, "unseen": False}
    finally:
        page.close()
