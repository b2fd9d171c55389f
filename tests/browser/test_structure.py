"""Headings, landmarks, language and labels (WCAG 1.3.1, 2.4.6, 3.1.1, 4.1.2), and the page without JavaScript."""

from __future__ import annotations

import pytest

from .pages import PAGE_TYPES, PageType

STRUCTURE = """() => {
  const shown = el => el.getClientRects().length > 0 && !el.closest("[hidden], [aria-hidden=true]");
  // The error summary sits above the h1 with its own h2, as the NHS.UK design system
  // places it (read and focused first); the outline is checked without it.
  const headings = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].filter(shown)
    .filter(h => !h.closest(".nhsuk-error-summary"))
    .map(h => ({level: Number(h.tagName[1]), text: h.textContent.trim().slice(0, 60)}));
  const skipped = [];
  let previous = 0;
  for (const h of headings) {
    if (h.level > previous + 1) skipped.push(`h${previous} → h${h.level} "${h.text}"`);
    previous = h.level;
  }
  const topLevel = el => !el.parentElement.closest("article, aside, main, nav, section");
  const controls = [...document.querySelectorAll("input, select, textarea")]
    .filter(el => !["hidden", "submit", "button", "reset", "image"].includes(el.type));
  const name = el => (el.getAttribute("aria-label") || "").trim() ||
    (el.getAttribute("aria-labelledby") || "").split(/\\s+/).map(id => document.getElementById(id)?.textContent || "").join(" ").trim() ||
    [...(el.labels || [])].map(l => l.textContent).join(" ").trim();
  return {
    lang: document.documentElement.lang,
    title: document.title,
    h1: headings.filter(h => h.level === 1).map(h => h.text),
    firstHeading: headings.length ? headings[0].level : null,
    skipped,
    main: document.querySelectorAll("main, [role=main]").length,
    mainInsideNothing: [...document.querySelectorAll("main")].every(topLevel),
    nav: [...document.querySelectorAll("nav, [role=navigation]")].map(n => n.getAttribute("aria-label") || ""),
    banner: [...document.querySelectorAll("header, [role=banner]")].filter(el => el.getAttribute("role") === "banner" || topLevel(el)).length,
    contentinfo: [...document.querySelectorAll("footer, [role=contentinfo]")].filter(el => el.getAttribute("role") === "contentinfo" || topLevel(el)).length,
    unlabelled: controls.filter(el => !name(el)).map(el => el.outerHTML.slice(0, 100)),
  };
}"""

VISIBLE_CONTENT = """() => {
  const main = document.querySelector("main");
  const nav = document.querySelector("header nav");
  const seen = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== "hidden" && s.display !== "none" && Number(s.opacity) > 0; };
  return {
    mainText: main ? main.innerText.trim().length : 0,
    h1: [...document.querySelectorAll("h1")].some(seen),
    navLinks: nav ? [...nav.querySelectorAll("a")].map(a => ({text: a.textContent.trim(), seen: seen(a)})) : [],
    footerLinks: [...document.querySelectorAll("footer a")].filter(seen).length,
    hiddenByScript: [...document.querySelectorAll("main [hidden]")].map(el => el.outerHTML.slice(0, 80)),
  };
}"""


@pytest.fixture(scope="module")
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture(scope="module", params=[320, 1280], ids=lambda w: f"no-js-{w}px")
def no_js(browser, request):
    context = browser.new_context(viewport={"width": request.param, "height": 800}, java_script_enabled=False)
    yield context
    context.close()


@pytest.mark.parametrize("page_type", PAGE_TYPES, ids=str)
def test_headings_landmarks_language_and_labels(page_type: PageType, context, live_site) -> None:
    page = context.new_page()
    try:
        page_type.open(page, live_site.base_url)
        found = page.evaluate(STRUCTURE)
    finally:
        page.close()
    problems = []
    if not found["lang"]:
        problems.append("<html> has no lang")
    if len(found["h1"]) != 1:
        problems.append(f"{len(found['h1'])} h1 headings: {found['h1']}")
    if found["firstHeading"] != 1 and found["h1"]:
        problems.append(f"the first heading is an h{found['firstHeading']}, not the h1")
    if found["skipped"]:
        problems.append(f"skipped heading levels: {found['skipped']}")
    if found["main"] != 1 or not found["mainInsideNothing"]:
        problems.append(f"{found['main']} main landmarks")
    if not found["nav"]:
        problems.append("no navigation landmark")
    if len(found["nav"]) > 1 and not all(found["nav"]):
        problems.append(f"several navigation landmarks, not all named: {found['nav']}")
    if found["banner"] != 1:
        problems.append(f"{found['banner']} banner (page header) landmarks")
    if found["contentinfo"] != 1:
        problems.append(f"{found['contentinfo']} contentinfo (page footer) landmarks")
    if found["unlabelled"]:
        problems.append(f"form controls without a label: {found['unlabelled']}")
    if not found["title"].strip():
        problems.append("no <title>")
    assert not problems, f"{page_type.name} ({page_type.path}):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page_type", PAGE_TYPES, ids=str)
def test_without_javascript_content_and_navigation_show(page_type: PageType, no_js, live_site) -> None:
    page = no_js.new_page()
    try:
        page_type.open(page, live_site.base_url)
        found = page.evaluate(VISIBLE_CONTENT)
    finally:
        page.close()
    assert found["h1"], f"{page_type.name}: no visible h1 without JavaScript"
    assert found["mainText"] > 80, f"{page_type.name}: main shows only {found['mainText']} characters without JavaScript"
    assert len(found["navLinks"]) >= 5, f"{page_type.name}: the header navigation has {found['navLinks']}"
    unseen = [link["text"] for link in found["navLinks"] if not link["seen"]]
    assert not unseen, f"{page_type.name}: navigation links hidden without JavaScript: {unseen}"
    assert found["footerLinks"] >= 3, f"{page_type.name}: only {found['footerLinks']} footer links show"
