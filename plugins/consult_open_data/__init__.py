"""Pelican plugin: `/data/ideas.csv`, `/data/ideas.json`, `/data/comments.csv` and the `/data/` page describing them.

The files come from generator.opendata, which `consult export` uses too; the
pipeline calls `write_open_data`, and the page is one of the site's pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.features import OPEN_DATA
from generator.hashing import signature
from generator.opendata import COMMENT_FIELDS, IDEA_FIELDS, Kept, records_file, select, write_files
from generator.pagewriter import PageSpec, read_outputs, record_output
from generator.views import SiteViews

PAGE = OPEN_DATA["href"]
NAME = "consult_open_data"
DATA_FILES = ("ideas.csv", "ideas.json", "comments.csv")


class OpenDataGenerator(Generator):
    """Adds /data/ to the footer and to the site's pages."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.context["views"]
        self.context.setdefault("feature_links", []).append(dict(OPEN_DATA))

    def page_specs(self, shared: str) -> Iterator[PageSpec]:
        chosen = select(self.views)
        listed: list[dict[str, str]] = [
            {"name": "ideas.csv", "format": "CSV", "what": f"{len(chosen.ideas)} ideas, one a row"},
            {"name": "ideas.json", "format": "JSON", "what": f"the same {len(chosen.ideas)} ideas, with the licence"},
            {"name": "comments.csv", "format": "CSV", "what": f"{len(chosen.comments)} comments on ideas and discussion topics"},
        ]
        yield PageSpec(
            PAGE,
            "data",
            {"files": listed, "idea_fields": IDEA_FIELDS, "comment_fields": COMMENT_FIELDS},
            signature(shared, "data", PAGE, repr(listed)),
        )


def write_open_data(views: SiteViews, output: Path, code_signature: str, incremental: bool) -> list[str]:
    """Write the data files unless an incremental build finds them made from the same inputs; return the files kept as they were.

    Each idea's and comment's record is kept between builds (`generator.opendata.Kept`), so an
    incremental build makes only the records whose inputs changed and joins the rest.
    """
    site = views.site
    inputs = signature(
        code_signature,
        site.config.model_dump_json(),
        *(tuple(e.digest for e in collection.values()) for collection in (site.challenges, site.ideas, site.topics, site.comments)),
        tuple((slug, idea.supports) for slug, idea in views.ideas.items()),
    )
    files = [f"{PAGE.strip('/')}/{name}" for name in DATA_FILES]
    if incremental and read_outputs(output).get(NAME) == inputs and all((output / f).is_file() for f in files):
        return files
    kept = Kept.load(records_file(site.root)) if incremental else Kept()  # a cold build makes every record
    write_files(views, output, ("csv", "json"), folder=PAGE, kept=kept, made_with=code_signature, chosen=select(views))
    kept.save(records_file(site.root))
    record_output(output, NAME, inputs)
    return []


def get_generators(_pelican: Any) -> type[Generator]:
    return OpenDataGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
