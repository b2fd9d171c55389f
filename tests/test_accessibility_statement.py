"""The accessibility statement says what the site meets, how it is tested, known issues and how to report one."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup


def test_statement_names_the_standard_testing_known_issues_and_reporting(site_dir: Path) -> None:
    page = BeautifulSoup((site_dir / "accessibility" / "index.html").read_text(encoding="utf-8"), "html.parser")
    text = page.main.get_text(" ", strip=True)
    headings = [h.get_text(strip=True) for h in page.main.find_all(["h2", "h3"])]
    assert "WCAG" in text and "2.2" in text and "level AA" in text
    assert {"How accessible this website is", "Known issues", "How we test this website", "Reporting accessibility problems"} <= set(headings)
    assert "axe-core" in text and "keyboard" in text and "JavaScript turned off" in text
    assert page.main.find("a", href=lambda href: href and href.startswith("mailto:")) or "@" in text
