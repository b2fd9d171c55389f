"""Reflow (WCAG 1.4.10): no horizontal scrolling and nothing cut off at 320 CSS px, nor at 200% zoom.

200% zoom on a 1280 px window is checked as a 640 CSS px viewport with a
device scale factor of 2. That is what browser zoom does: it shrinks the
CSS viewport (so media queries and `vw` see 640 px) and paints each CSS
pixel with 2 device pixels. CSS `zoom` on the root would not do the same:
media queries would still see 1280 px and the layout would not reflow as
it does for a person who zooms.

Screenshots at 320, 768 and 1280 px go to test-artifacts/screenshots/ for a
person to look at.
"""

from __future__ import annotations

import re

import pytest

from .pages import PAGE_TYPES, PageType

VIEWPORTS = {
    "320px": {"viewport": {"width": 320, "height": 640}},
    "640px@2x (1280px at 200%)": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
    "768px": {"viewport": {"width": 768, "height": 1024}},
    "1280px": {"viewport": {"width": 1280, "height": 800}},
}
SCREENSHOTS = {"320px", "768px", "1280px"}

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  // Inside a sideways scroll box (allowed for wide tables and code), or inside a
  // visually hidden box (clipped to 1px, for screen readers only).
  const exempt = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (/(auto|scroll)/.test(style.overflowX)) return true;
      const r = a.getBoundingClientRect();
      if (style.overflow !== "visible" && (r.width <= 1 || r.height <= 1)) return true;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.classList.length ? "." + [...el.classList].join(".") : "");
  const cut = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;  // visually hidden (clipped to 1px)
    if ((r.right > width + 0.5 || r.left < -0.5) && !exempt(el)) {
      cut.push(`${name(el)} spans ${Math.round(r.left)}..${Math.round(r.right)}px: "${(el.textContent || "").trim().slice(0, 40)}"`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, cut: cut.slice(0, 10)};
}"""


@pytest.fixture(scope="module", params=list(VIEWPORTS), ids=str)
def context(browser, request):
    context = browser.new_context(**VIEWPORTS[request.param])
    context.label = request.param
    yield context
    context.close()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@pytest.mark.parametrize("page_type", PAGE_TYPES, ids=str)
def test_page_reflows_without_horizontal_scrolling(page_type: PageType, context, live_site, artifacts) -> None:
    page = context.new_page()
    try:
        page_type.open(page, live_site.base_url)
        found = page.evaluate(OVERFLOW)
        if context.label in SCREENSHOTS:
            folder = artifacts / "screenshots"
            folder.mkdir(exist_ok=True)
            page.screenshot(path=str(folder / f"{slug(page_type.name)}-{context.label}.png"), full_page=True)
    finally:
        page.close()
    assert found["scrollWidth"] <= found["viewport"], (
        f"{page_type.name} at {context.label}: the page is {found['scrollWidth']}px wide in a {found['viewport']}px viewport; "
        f"wider elements: {found['cut']}"
    )
    assert not found["cut"], f"{page_type.name} at {context.label}: content reaches outside the viewport: {found['cut']}"
