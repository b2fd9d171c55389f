"""The /numbers/ page: its figures equal counts over the content; charts are static, labelled SVG."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from .conftest import Content

LABELS = {
    "waiting": "Waiting for a response",
    "under-consideration": "Under consideration",
    "responded": "Responded to",
    "adopted": "Adopted",
    "not-taken-forward": "Not taken forward",
}


@pytest.fixture(scope="module")
def numbers(site_dir: Path) -> BeautifulSoup:
    return BeautifulSoup((site_dir / "numbers/index.html").read_text(encoding="utf-8"), "html.parser")


def table(numbers: BeautifulSoup, key: str) -> dict[str, int]:
    """A figure's data table as label → count (without the total row)."""
    section = numbers.find("section", attrs={"data-figure": key})
    rows = section.find("tbody").find_all("tr")
    figures = {row.th.get_text(strip=True): int(row.td.get_text(strip=True)) for row in rows}
    assert int(section.find("tfoot").td.get_text()) == sum(figures.values())
    return figures


def nonzero(figures: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in figures.items() if v}


def test_ideas_per_challenge(numbers: BeautifulSoup, content: Content) -> None:
    titles = {c.slug: c.meta["title"] for c in content.challenges}
    expected = Counter(titles[i.meta["challenge"]] for i in content.ideas)
    assert table(numbers, "per-challenge") == {title: expected.get(title, 0) for title in titles.values()}


def test_ideas_per_month(numbers: BeautifulSoup, content: Content) -> None:
    months = Counter(f"{(i.meta.get('published') or i.meta['submitted']):%B %Y}" for i in content.ideas)
    assert nonzero(table(numbers, "per-month")) == dict(months)


def test_ideas_by_status(numbers: BeautifulSoup, content: Content) -> None:
    expected = Counter(LABELS[i.meta.get("status", "waiting")] for i in content.ideas)
    assert table(numbers, "by-status") == {label: expected.get(label, 0) for label in LABELS.values()}


@pytest.mark.parametrize(("key", "field"), [("by-role", "role"), ("by-region", "region")])
def test_ideas_by_role_and_region(numbers: BeautifulSoup, content: Content, key: str, field: str) -> None:
    expected = Counter(i.meta.get(field) or "Not given" for i in content.ideas)
    assert nonzero(table(numbers, key)) == dict(expected)
    assert set(content.site[field + "s"]) <= set(table(numbers, key)), "every value offered on the form is listed"


def test_totals(numbers: BeautifulSoup, content: Content) -> None:
    totals = {
        row.dt.get_text(strip=True): int(row.dd.get_text(strip=True)) for row in numbers.find(attrs={"data-numbers-totals": True}).find_all("div")
    }
    assert totals == {
        "Ideas published": len(content.ideas),
        "Comments": len(content.comments),
        "Discussion topics": len(content.topics),
        "Ideas with a response": sum(1 for i in content.ideas if i.meta.get("response")),
    }


def test_charts_are_accessible_static_svg(numbers: BeautifulSoup, site_dir: Path) -> None:
    charts = numbers.find("main").find_all("svg")
    assert len(charts) == 5
    for svg in charts:
        assert svg["role"] == "img" and svg["width"] == "100%" and svg["viewbox"].startswith("0 0 ")
        title_id, desc_id = svg["aria-labelledby"].split()
        assert svg.find("title", id=title_id).get_text() and svg.find("desc", id=desc_id).get_text()
        section = svg.find_parent("section")
        assert len(svg.find_all("rect")) == len(section.find("tbody").find_all("tr"))
    assert not [s for s in numbers.find_all("script") if "numbers" in (s.get("src") or "")], "no chart JavaScript"


def test_bars_are_proportional(numbers: BeautifulSoup) -> None:
    svg = numbers.find("section", attrs={"data-figure": "per-challenge"}).find("svg")
    widths = [float(rect["width"]) for rect in svg.find_all("rect")]
    counts = list(table(numbers, "per-challenge").values())
    largest = max(counts)
    for width, count in zip(widths, counts, strict=True):
        assert width == pytest.approx(max(widths) * count / largest, abs=0.1)


def test_month_range_has_no_gaps(numbers: BeautifulSoup) -> None:
    months = [dt.datetime.strptime(label, "%B %Y") for label in table(numbers, "per-month")]
    for earlier, later in itertools.pairwise(months):
        assert (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month) == 1
