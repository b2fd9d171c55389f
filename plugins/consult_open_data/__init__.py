"""Pelican plugin: `/data/ideas.csv`, `/data/ideas.json`, `/data/comments.csv` and the `/data/` page describing them.

The files come from generator.opendata, which `consult export` uses too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.features import OPEN_DATA
from generator.opendata import COMMENT_FIELDS, IDEA_FIELDS, Kept, records_file, select, write_files
from generator.outputs import write_page
from generator.pagewriter import read_outputs, record_output, signature
from generator.timing import stage
from generator.views import SiteViews

PAGE = OPEN_DATA["href"]
NAME = "consult_open_data"
DATA_FILES = ("ideas.csv", "ideas.json", "comments.csv")


class OpenDataGenerator(Generator):
    """Writes the data files and the page about them, and adds it to the footer."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.settings["CONSULT_VIEWS"]
        self.context.setdefault("feature_links", []).append(dict(OPEN_DATA))

    @stage("open data")
    def generate_output(self, writer: Any) -> None:
        output = Path(self.output_path)
        site = self.views.site
        code = self.settings.get("CONSULT_CODE_SIGNATURE", "")
        inputs = signature(
            code, site.config.model_dump_json(),
            *(tuple(e.digest for e in collection.values()) for collection in (site.challenges, site.ideas, site.topics, site.comments)),
            tuple((slug, idea.supports) for slug, idea in self.views.ideas.items()),
        )
        files = [f"{PAGE.strip('/')}/{name}" for name in DATA_FILES]
        unchanged = read_outputs(output).get(NAME) == inputs and all((output / f).is_file() for f in files)
        incremental = self.settings.get("CONSULT_INCREMENTAL", False)
        chosen = select(self.views)
        if incremental and unchanged:
            self.settings.setdefault("CONSULT_KEPT", set()).update(files)  # a warm build keeps them as they are
        else:
            kept = Kept.load(records_file(site.root)) if incremental else Kept()  # a cold build makes every record
            write_files(self.views, output, ("csv", "json"), folder=PAGE, kept=kept, made_with=code, chosen=chosen)
            kept.save(records_file(site.root))
        record_output(output, NAME, inputs)
        listed: list[dict[str, str]] = [
            {"name": "ideas.csv", "format": "CSV", "what": f"{len(chosen.ideas)} ideas, one a row"},
            {"name": "ideas.json", "format": "JSON", "what": f"the same {len(chosen.ideas)} ideas, with the licence"},
            {"name": "comments.csv", "format": "CSV", "what": f"{len(chosen.comments)} comments on ideas and discussion topics"},
        ]
        write_page(
            output, "data/index.html", self.get_template("data"), self.context,
            page_url=PAGE, files=listed, idea_fields=IDEA_FIELDS, comment_fields=COMMENT_FIELDS,
        )


def get_generators(_pelican: Any) -> type[Generator]:
    return OpenDataGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
