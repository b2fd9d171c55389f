"""The editors' handbook in the browser: the top tabs' contrast (WCAG 1.4.3) in both schemes, and links in text underlined.

The handbook is built strictly (as `consult handbook` does) and opened from its
folder; the contrast is measured with test_contrast.py's own MEASURE.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.handbook import build_handbook

from ..conftest import PROJECT
from .test_contrast import MEASURE


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_handbook(PROJECT, tmp_path_factory.mktemp("handbook") / "site")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_top_tab_has_enough_contrast_and_the_current_one_is_underlined(scheme: str, browser, handbook: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce", color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto((handbook / "editors" / "review-local" / "index.html").as_uri())
        tabs = page.locator(".md-tabs__link")
        assert tabs.count() >= 3, "the tabs are shown at 1280 px"
        failures = []
        for index in range(tabs.count()):
            tab = tabs.nth(index)
            states = {"resting": tab.evaluate(MEASURE)}
            tab.hover()
            states["hover"] = tab.evaluate(MEASURE)
            page.mouse.move(0, 700)
            tab.focus()
            states["focus"] = tab.evaluate(MEASURE)
            tab.evaluate("el => el.blur()")
            for state, measured in states.items():
                assert measured is not None, "the tab's background can be measured"
                if measured["ratio"] < measured["needed"]:
                    failures.append(f"{tab.inner_text()} {state}: {measured['ratio']}:1 {measured['color']} on {measured['background']}")
        assert not failures, f"{scheme}: low contrast on the tabs\n  " + "\n  ".join(failures)
        current = page.locator(".md-tabs__item--active .md-tabs__link")
        assert current.inner_text().strip() == "Editors"
        assert "underline" in current.evaluate("el => getComputedStyle(el).textDecorationLine"), "the current tab is marked by more than colour"
        others = page.locator(".md-tabs__item:not(.md-tabs__item--active) .md-tabs__link")
        assert "underline" not in others.first.evaluate("el => getComputedStyle(el).textDecorationLine")
    finally:
        context.close()


def test_links_in_text_are_underlined(browser, handbook: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto((handbook / "index.html").as_uri())
        decorations = page.eval_on_selector_all(
            "article.md-typeset a[href]:not(.headerlink)",
            "links => links.map(a => [a.textContent.trim(), getComputedStyle(a).textDecorationLine])",
        )
        assert len(decorations) >= 10
        plain = [text for text, line in decorations if "underline" not in line]
        assert not plain, f"links in text without an underline: {plain}"
    finally:
        context.close()
