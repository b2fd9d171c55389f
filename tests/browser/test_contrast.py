"""Colour contrast in every state (WCAG 1.4.3, 1.4.11): resting, hover, focus, visited, disabled.

axe-core checks the resting state only. Here every distinct kind of link,
button and form control (grouped by its classes and its parent's) is put in
each state for real (mouse over it, focus it) and its text measured against
the background behind it. A browser never reveals `:visited` styles to a
script, so those rules are copied from the stylesheet onto a class first.
"""

from __future__ import annotations

import pytest

from .pages import CHALLENGE, IDEA, SHARE

PAGES = {"home": "/", "challenge": CHALLENGE, "idea": IDEA, "share form": SHARE, "ideas": "/ideas/"}

SETUP = """() => {
  // :visited rules → .x-visited, so that a script can see what a visited link looks like.
  // Rules inside @media or @supports keep their condition (forced colours, print...).
  const copies = [];
  const walk = (rules, wrap) => { for (const rule of rules) {
    if (rule instanceof CSSMediaRule) walk(rule.cssRules, t => wrap(`@media ${rule.conditionText} { ${t} }`));
    else if (rule instanceof CSSSupportsRule) walk(rule.cssRules, t => wrap(`@supports ${rule.conditionText} { ${t} }`));
    else if (rule.selectorText && rule.selectorText.includes(":visited"))
      copies.push(wrap(rule.cssText.replaceAll(":visited", ".x-visited")));
  } };
  for (const sheet of document.styleSheets) { try { walk(sheet.cssRules, t => t); } catch (e) {} }
  const style = document.createElement("style");
  style.textContent = copies.join("\\n");
  document.head.append(style);
  const seen = new Map();
  const key = el => [el.tagName, el.className, el.type || "", el.parentElement.className].join("|");
  const items = [...document.querySelectorAll("main a[href], header a[href], footer a[href], button, input:not([type=hidden]), select, textarea, .nhsuk-breadcrumb a")]
    .filter(el => el.getClientRects().length && el.getBoundingClientRect().width > 1 && el.tabIndex >= 0 && !el.closest("[aria-hidden=true]"));
  items.forEach(el => { if (!seen.has(key(el))) seen.set(key(el), el); });
  return [...seen.values()].map((el, i) => { el.dataset.contrastItem = i; return el.outerHTML.slice(0, 90); });
}"""

MEASURE = """async el => {
  // Let a state change settle: under reduced motion every transition lasts 0.01ms, but it
  // still starts from the old value until the next frames.
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => { const a = top[3]; return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat(1); };
  const background = node => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const s = getComputedStyle(n);
      if (s.backgroundImage !== "none" && !s.backgroundImage.startsWith("url(")) return null;  // a gradient: cannot tell
      const c = parse(s.backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] === 1) break; }
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [l1, l2] = [lum(a), lum(b)].sort((x, y) => y - x); return (l1 + 0.05) / (l2 + 0.05); };
  // The text is the element's own, or its label's for a hidden checkbox.
  const s = getComputedStyle(el);
  let bg = background(el);
  if (!bg) return null;
  let fg = over(parse(s.color), bg);
  // Opacity (how disabled controls are often drawn) fades text and box into what is behind.
  let opacity = 1;
  for (let n = el; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
  if (opacity < 1) {
    const behind = background(el.parentElement) || [255, 255, 255, 1];
    fg = over([...fg.slice(0, 3), opacity], behind);
    bg = over([...bg.slice(0, 3), opacity], behind);
  }
  const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
  const large = size >= 24 || (bold && size >= 18.66);
  const text = (el.value || el.textContent || "").trim();
  return {ratio: Math.round(ratio(fg, bg) * 100) / 100, needed: text ? (large ? 3 : 4.5) : 3, color: s.color, background: `rgb(${bg.slice(0, 3).map(Math.round)})`};
}"""


@pytest.fixture(scope="module")
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce")
    yield context
    context.close()


@pytest.mark.parametrize("name", PAGES)
def test_contrast_in_every_state(name: str, context, live_site) -> None:
    page = context.new_page()
    failures = []
    try:
        page.goto(live_site.base_url + PAGES[name])
        items = page.evaluate(SETUP)
        assert items, f"{name}: nothing to measure"
        for index, html in enumerate(items):
            element = page.locator(f"[data-contrast-item='{index}']")
            if element.evaluate("el => el.type === 'checkbox' || el.type === 'radio'"):
                continue  # its text is the label's, measured as plain text by axe-core
            states = {"resting": element.evaluate(MEASURE)}
            element.hover(timeout=5000)
            states["hover"] = element.evaluate(MEASURE)
            page.mouse.move(0, 0)
            page.keyboard.press("Shift")  # keyboard modality, so :focus-visible applies
            element.focus()
            states["focus"] = element.evaluate(MEASURE)
            element.evaluate("el => el.blur()")
            if element.evaluate("el => el.tagName === 'A'"):
                element.evaluate("el => el.classList.add('x-visited')")
                states["visited"] = element.evaluate(MEASURE)
                states["visited + hover"] = (element.hover(timeout=5000), element.evaluate(MEASURE))[1]
                page.mouse.move(0, 0)
                element.evaluate("el => el.classList.remove('x-visited')")
            if element.evaluate("el => 'disabled' in el"):
                element.evaluate("el => el.disabled = true")
                states["disabled"] = element.evaluate(MEASURE)
                element.evaluate("el => el.disabled = false")
            for state, measured in states.items():
                if measured and measured["ratio"] < measured["needed"]:
                    failures.append(
                        f"{state}: {measured['ratio']}:1 (needs {measured['needed']}) {measured['color']} on {measured['background']}: {html}"
                    )
    finally:
        page.close()
    assert not failures, f"{name}: low contrast\n  " + "\n  ".join(failures)
