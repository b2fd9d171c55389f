"""The person's own settings win: a larger default text size (WCAG 1.4.4) and reduced motion (2.3.3)."""

from __future__ import annotations

import pytest

from .pages import PAGE_TYPES, SHARE, PageType

TEXT = """() => {
  // Chart labels inside an SVG scale with it, as an image does (zoom enlarges them); each
  // chart's figures are repeated as text in a table, which follows the text size.
  const texts = [...document.querySelectorAll("main *")].filter(el => !el.closest("svg") &&
    [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) && el.getBoundingClientRect().width > 1);
  return {root: parseFloat(getComputedStyle(document.documentElement).fontSize),
          sizes: Object.fromEntries(texts.map(el => [el.tagName.toLowerCase() + ": " + el.textContent.trim().slice(0, 40), parseFloat(getComputedStyle(el).fontSize)])),
          scrollWidth: document.documentElement.scrollWidth, viewport: innerWidth};
}"""
GROWTH = 1.3
"""At a 1280px window, 32px text makes the layout switch to the small-screen type scale (nhsuk-frontend's
breakpoints are in em, as browser zoom would do), so text grows by 1.33x (headings) to 2x, never less."""

MOTION = """() => {
  const seconds = value => Math.max(...value.split(",").map(v => parseFloat(v) * (v.trim().endsWith("ms") ? 0.001 : 1)));
  const moving = [];
  for (const el of document.querySelectorAll("*")) {
    for (const pseudo of [null, "::before", "::after"]) {
      const s = getComputedStyle(el, pseudo);
      const animated = s.animationName !== "none" && seconds(s.animationDuration) > 0.001;
      if (animated || seconds(s.transitionDuration) > 0.001)
        moving.push(`${el.tagName.toLowerCase()}.${[...el.classList].join(".")}${pseudo || ""}: ${s.transitionDuration} ${s.animationName} ${s.animationDuration}`);
    }
  }
  return {moving: moving.slice(0, 10), scroll: getComputedStyle(document.documentElement).scrollBehavior};
}"""


@pytest.fixture(scope="module")
def baseline(browser, live_site) -> dict[str, dict]:
    """Text sizes at the browser's default 16px, per page type."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    sizes = {}
    try:
        page = context.new_page()
        for page_type in PAGE_TYPES:
            page_type.open(page, live_site.base_url)
            sizes[page_type.name] = page.evaluate(TEXT)
    finally:
        context.close()
    return sizes


@pytest.fixture(scope="module")
def large_text(browser):
    """Chromium with its default font size set to 32px, as a person sets it in the browser's settings."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    context.new_cdp_session(page).send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
    yield page
    context.close()


@pytest.mark.parametrize("page_type", PAGE_TYPES, ids=str)
def test_text_follows_the_browser_text_size(page_type: PageType, large_text, baseline, live_site) -> None:
    page_type.open(large_text, live_site.base_url)
    found = large_text.evaluate(TEXT)
    before = baseline[page_type.name]
    assert found["root"] == 2 * before["root"], f"{page_type.name}: the root font size ignores the browser's setting"
    fixed = [
        f"{name}: {old}px → {new}px" for name, old in before["sizes"].items() if (new := found["sizes"].get(name)) is not None and new < GROWTH * old
    ]
    assert not fixed, f"{page_type.name}: text that does not follow the browser's text size: {fixed[:10]}"
    assert found["scrollWidth"] <= found["viewport"], f"{page_type.name}: at 200% text the page scrolls sideways ({found['scrollWidth']}px)"


@pytest.mark.parametrize("path", ["/", SHARE], ids=["home", "share form"])
def test_reduced_motion_stops_animation_and_transitions(path: str, browser, live_site) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce")
    try:
        page = context.new_page()
        page.goto(live_site.base_url + path)
        page.hover("a[href]:visible >> nth=3")
        found = page.evaluate(MOTION)
    finally:
        context.close()
    assert not found["moving"], f"{path}: still moving with reduced motion: {found['moving']}"
    assert found["scroll"] != "smooth"
