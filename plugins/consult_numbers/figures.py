"""The numbers behind /numbers/: counts of ideas, worked out once from the views."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from generator.schema import IdeaStatus
from generator.views import SiteViews

NOT_GIVEN = "Not given"


@dataclass(frozen=True)
class Row:
    label: str
    count: int
    url: str | None = None


@dataclass(frozen=True)
class Figure:
    """One chart and its table: an id, a title, the heading of the label column, and the rows in display order."""

    key: str
    title: str
    label_heading: str
    rows: tuple[Row, ...]
    value_heading: str = "Ideas"
    """The heading of the count column; its lower case is the unit of the chart's description."""

    @property
    def total(self) -> int:
        return sum(row.count for row in self.rows)

    @property
    def description(self) -> str:
        """A sentence for the chart's `<desc>`: what it shows and where the most ideas are."""
        unit = self.value_heading.lower()
        if not self.total:
            return f"Bar chart of {self.title.lower()}: no {unit} yet."
        top = max(row.count for row in self.rows)
        leaders = [row.label for row in self.rows if row.count == top]
        most = leaders[0] if len(leaders) == 1 else ", ".join(leaders[:-1]) + " and " + leaders[-1]
        each = " each" if len(leaders) > 1 else ""
        return f"Bar chart of {self.title.lower()}, {self.total} {unit} in all. The most: {most}, with {top}{each}."


def month_label(month: dt.date) -> str:
    return f"{month:%B %Y}"


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first day of every month from first to last, inclusive."""
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return months


def by_challenge(views: SiteViews) -> Figure:
    challenges = sorted(views.challenges.values(), key=lambda c: (c.meta.order, c.slug))
    return Figure("per-challenge", "Ideas per challenge", "Challenge", tuple(Row(c.title, len(c.ideas), c.url) for c in challenges))


def by_month(views: SiteViews) -> Figure:
    """Ideas by the month they were published (or submitted, if not yet published), every month in between shown."""
    counts = Counter(idea.date.replace(day=1) for idea in views.ideas.values())
    months = months_between(min(counts), max(counts)) if counts else []
    return Figure("per-month", "Ideas per month", "Month published", tuple(Row(month_label(m), counts.get(m, 0)) for m in months))


def by_status(views: SiteViews) -> Figure:
    rows = tuple(
        Row(status.label, views.counts[status.value], f"/ideas/status/{status.value}/" if views.counts[status.value] else None)
        for status in IdeaStatus
    )
    return Figure("by-status", "Ideas by status", "Status", rows)


def _by_field(views: SiteViews, field: str, offered: list[str]) -> tuple[Row, ...]:
    """Every value offered in site.yml (even at 0), any other value found, then "Not given"."""
    counts = Counter(getattr(idea.meta, field) or NOT_GIVEN for idea in views.ideas.values())
    others = sorted(value for value in counts if value not in offered and value != NOT_GIVEN)
    labels = [*offered, *others] + ([NOT_GIVEN] if counts.get(NOT_GIVEN) else [])
    return tuple(Row(label, counts.get(label, 0)) for label in labels)


def by_role(views: SiteViews) -> Figure:
    return Figure("by-role", "Ideas by staff role", "Role", _by_field(views, "role", views.site.config.roles))


def by_region(views: SiteViews) -> Figure:
    return Figure("by-region", "Ideas by region", "Region", _by_field(views, "region", views.site.config.regions))


MOST_SUPPORTED = 10
"""How many ideas the "Most supported ideas" chart shows."""


def most_supported(views: SiteViews) -> Figure:
    """The ideas with the most supports ("me too"), most first, each linking to its page."""
    rows = tuple(Row(idea.title, idea.supports or 0, idea.url) for idea in views.most_supported[:MOST_SUPPORTED])
    return Figure("most-supported", "Most supported ideas", "Idea", rows, "Supports")


def all_figures(views: SiteViews) -> list[Figure]:
    """Every chart of the page; "Most supported ideas" only when the build was given support counts."""
    supported = [most_supported(views)] if views.supports_known else []
    return [by_challenge(views), by_month(views), by_status(views), *supported, by_role(views), by_region(views)]


def totals(views: SiteViews) -> list[Row]:
    """The headline counts above the charts."""
    return [
        Row("Ideas published", len(views.ideas), "/ideas/"),
        Row("Comments", views.comment_count),
        Row("Discussion topics", len(views.topics)),
        Row("Ideas with a response", sum(1 for idea in views.ideas.values() if idea.meta.response)),
        *([Row("Supports for ideas", sum(idea.supports or 0 for idea in views.ideas.values()))] if views.supports_known else []),
    ]
