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
from generator.opendata import (
    COMMENT_FIELDS,
    GROUPS,
    IDEA_FIELDS,
    Placed,
    comment_inputs,
    comment_items,
    comment_key,
    idea_key,
    in_comment_order,
    in_idea_order,
    records_file,
    write_comments,
    write_ideas,
)
from generator.pagewriter import PageSpec, read_outputs, record_output
from generator.views import SiteViews

PAGE = OPEN_DATA["href"]
NAME = "consult_open_data"


class OpenDataGenerator(Generator):
    """Adds /data/ to the footer and to the site's pages."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.context["views"]
        self.context.setdefault("feature_links", []).append(dict(OPEN_DATA))

    def page_specs(self) -> Iterator[PageSpec]:
        ideas = len(self.views.ideas)
        comments = self.views.comment_count
        listed: list[dict[str, str]] = [
            {"name": "ideas.csv", "format": "CSV", "what": f"{ideas} ideas, one a row"},
            {"name": "ideas.json", "format": "JSON", "what": f"the same {ideas} ideas, with the licence"},
            {"name": "comments.csv", "format": "CSV", "what": f"{comments} comments on ideas and discussion topics"},
        ]
        yield PageSpec(PAGE, "data", {"files": listed, "idea_fields": IDEA_FIELDS, "comment_fields": COMMENT_FIELDS})


def write_open_data(views: SiteViews, output: Path, code_signature: str, incremental: bool) -> list[str]:
    """Write the data files, group by group (`GROUPS`), unless an incremental build finds a group made from the
    same records; return the files kept as they were.

    A group's inputs are the keys of its records (everything each record shows), so an edited idea leaves
    comments.csv alone. A group written again copies each record whose key it finds in the files the last build
    wrote (`generator.opendata.Placed`, kept a group), and makes only the others.
    """
    site = views.site
    config = site.config
    settings = config.model_dump_json()
    recorded = read_outputs(output) if incremental else {}
    ideas = [(idea_key(config, idea, code_signature), idea) for idea in views.ideas.values()]
    inputs = {
        "ideas": signature(code_signature, settings, [key for key, _ in ideas]),
        "comments": signature(code_signature, settings, comment_inputs(views)),
    }
    folder = output / PAGE.strip("/")
    kept_files: list[str] = []
    for group, names in GROUPS.items():
        files = [f"{PAGE.strip('/')}/{name}" for name in names]
        if recorded.get(f"{NAME}:{group}") == inputs[group] and all((output / f).is_file() for f in files):
            kept_files += files
            continue
        store = records_file(site.root, group)
        previous = Placed.load(store, folder) if incremental else Placed()  # a cold build makes every record
        if group == "ideas":
            placed, _ = write_ideas(views, folder, in_idea_order(ideas), previous)
        else:
            comments = [(comment_key(config, item, code_signature), item) for item in comment_items(views)]
            placed, _ = write_comments(views, folder, in_comment_order(comments), previous)
        placed.save(store)
        record_output(output, f"{NAME}:{group}", inputs[group])
    return kept_files


def get_generators(_pelican: Any) -> type[Generator]:
    return OpenDataGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
