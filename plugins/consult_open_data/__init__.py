"""Pelican plugin: `/data/ideas.csv`, `/data/ideas.json`, `/data/comments.csv` and the `/data/` page describing them.

The files come from generator.opendata, which `consult export` uses too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.opendata import COMMENT_FIELDS, IDEA_FIELDS, select, write_files
from generator.views import SiteViews

PAGE = "/data/"


class OpenDataGenerator(Generator):
    """Writes the data files and the page about them, and adds it to the footer."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.settings["CONSULT_VIEWS"]
        self.context.setdefault("feature_links", []).append({"href": PAGE, "text": "Open data"})

    def generate_output(self, writer: Any) -> None:
        write_files(self.views, Path(self.output_path), ("csv", "json"), folder=PAGE)
        chosen = select(self.views)
        files = [
            {"name": "ideas.csv", "format": "CSV", "what": f"{len(chosen.ideas)} ideas, one a row"},
            {"name": "ideas.json", "format": "JSON", "what": f"the same {len(chosen.ideas)} ideas, with the licence"},
            {"name": "comments.csv", "format": "CSV", "what": f"{len(chosen.comments)} comments on ideas and discussion topics"},
        ]
        writer.write_file(
            "data/index.html", self.get_template("data"), self.context,
            page_url=PAGE, files=files, idea_fields=IDEA_FIELDS, comment_fields=COMMENT_FIELDS,
        )


def get_generators(_pelican: Any) -> type[Generator]:
    return OpenDataGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
