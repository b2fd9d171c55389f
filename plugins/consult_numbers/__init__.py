"""Pelican plugin: `/numbers/`, ideas per challenge, per month, by status, role and region, as static SVG charts with data tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.features import NUMBERS
from generator.pagewriter import PageSpec
from generator.views import SiteViews

from .figures import all_figures, totals
from .svg import bar_chart

PAGE = NUMBERS["href"]


class NumbersGenerator(Generator):
    """Adds /numbers/ to the footer and to the site's pages."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.context["views"]
        self.context.setdefault("feature_links", []).append(dict(NUMBERS))

    def page_specs(self) -> Iterator[PageSpec]:
        figures = [(figure, bar_chart(figure)) for figure in all_figures(self.views)]
        latest = max((idea.date for idea in self.views.ideas.values()), default=None)
        values = {"figures": figures, "totals": totals(self.views), "latest": latest}
        yield PageSpec(PAGE, "numbers", values)


def get_generators(_pelican: Any) -> type[Generator]:
    return NumbersGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
