"""Pelican plugin: `/numbers/`, ideas per challenge, per month, by status, role and region, as static SVG charts with data tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.features import NUMBERS
from generator.outputs import write_page
from generator.timing import stage
from generator.views import SiteViews

from .figures import all_figures, totals
from .svg import bar_chart

PAGE = NUMBERS["href"]


class NumbersGenerator(Generator):
    """Writes /numbers/ and adds it to the footer."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.settings["CONSULT_VIEWS"]
        self.context.setdefault("feature_links", []).append(dict(NUMBERS))

    @stage("numbers")
    def generate_output(self, writer: Any) -> None:
        figures = [(figure, bar_chart(figure)) for figure in all_figures(self.views)]
        latest = max((idea.date for idea in self.views.ideas.values()), default=None)
        write_page(
            Path(self.output_path), "numbers/index.html", self.get_template("numbers"), self.context,
            page_url=PAGE, figures=figures, totals=totals(self.views), latest=latest,
        )


def get_generators(_pelican: Any) -> type[Generator]:
    return NumbersGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
