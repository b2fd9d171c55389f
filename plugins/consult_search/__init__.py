"""Pelican plugin: the `/search/` page and its Pagefind index.

The page is one of the site's pages. The pipeline calls `index_search` once
every page is written, inside the staging folder, so the index is swapped in
with the rest of the site. Only the search page loads Pagefind, and only when
someone searches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.cutpages import CutStore
from generator.errors import BuildError
from generator.features import SEARCH
from generator.pagefind import BUNDLE, part_folder
from generator.pagewriter import PageSpec, read_outputs, record_output
from generator.schema import IdeaStatus
from generator.search_parts import NOTHING_AHEAD, IndexUpdate, MadeAhead, PreparedAhead, index_ahead, part_count, prepare_ahead, update_index
from generator.views import SiteViews

NAME = "consult_search"
PAGE = SEARCH["href"]


@dataclass(frozen=True)
class Choice:
    """A filter value as Pagefind indexes it (the label), with its listing page and how many ideas it has."""

    label: str
    url: str
    count: int


def search_options(views: SiteViews) -> dict[str, list[Choice]]:
    """The search page's filters, and the plain listing pages it offers without JavaScript."""
    labels = {s.value: s.label for s in IdeaStatus}
    challenges = sorted(views.challenges.values(), key=lambda c: (c.meta.order, c.slug))
    return {
        "challenges": [Choice(c.title, c.url, len(c.ideas)) for c in challenges],
        "statuses": [Choice(labels[status], f"/ideas/status/{status}/", count) for status, count in views.counts.items() if count],
        "tags": [Choice(tag.replace("-", " "), f"/tags/{tag}/", len(ideas)) for tag, ideas in sorted(views.tags.items())],
    }


def parts_of(views: SiteViews) -> int:
    return part_count(len(views.ideas), views.site.config.search_part_ideas)


class SearchGenerator(Generator):
    """Adds /search/ to the footer and to the site's pages."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.context["views"]
        self.context.setdefault("feature_links", []).append(dict(SEARCH))

    def page_specs(self) -> Iterator[PageSpec]:
        options = search_options(self.views)
        parts = [f"/{part_folder(n)}/" for n in range(1, parts_of(self.views))]
        values = {"search": options, "pagefind_url": f"/{BUNDLE}/pagefind.js", "pagefind_parts": parts}
        yield PageSpec(PAGE, "search", values)


def previous_parts(output: Path, incremental: bool) -> list[str]:
    """The part signatures of the index the output holds (none for a cold build)."""
    return read_outputs(output).get(NAME, "").split() if incremental else []


@dataclass(frozen=True)
class Ahead:
    """Search parts made ahead of the page build (`search_ahead`), in the search thread."""

    made: Future[MadeAhead]
    started: threading.Event
    """Set once Pagefind runs for them (or there was nothing to make)."""


def prepare_ahead_of(
    views: SiteViews,
    guessed: Mapping[str, str],
    output: Path,
    code_signature: str,
    previous: list[str],
    pages: Mapping[str, bytes],
    cuts: CutStore | None = None,
) -> PreparedAhead:
    """The parts the pages rendered ahead (`pages`, by file) change, copied for Pagefind (`index_ahead`); `cuts`: the
    parts' cut pages kept from before (`generator.cutpages`)."""
    return prepare_ahead(output, guessed, previous, parts_of(views), code_signature, pages, cuts)


def search_ahead(prepared: PreparedAhead, background: ThreadPoolExecutor) -> Ahead:
    """Pagefind started in the search thread (`background`) on the parts prepared ahead."""
    started = threading.Event()

    def made() -> MadeAhead:
        try:
            return index_ahead(prepared, started)
        finally:
            started.set()

    return Ahead(background.submit(made), started)


def index_search(
    views: SiteViews,
    indexed: Mapping[str, str],
    output: Path,
    code_signature: str,
    previous: list[str],
    started: threading.Event | None = None,
    ahead: Ahead | None = None,
    cuts: CutStore | None = None,
) -> IndexUpdate:
    """The Pagefind index of the pages `indexed` (URL → signature), each part re-indexed only when a page indexed in it changed.

    `previous` is `previous_parts(output, incremental)`, read before; the pipeline runs this beside the
    stages after rendering (it reads only the written pages), then calls `record_search`. `ahead`: parts made
    ahead of the page build, installed when right (a failure there only means they are made here). `cuts`: the parts'
    cut pages kept from before (`generator.cutpages`), and kept anew for the parts re-indexed.
    """
    try:
        made = NOTHING_AHEAD
        if ahead is not None:
            try:
                made = ahead.made.result()
            except (BuildError, OSError):
                pass
        return update_index(output, indexed, previous, parts_of(views), code_signature, started, made, cuts)
    finally:
        if started is not None:
            started.set()  # nothing to index, or a failure: the pipeline may be waiting for it


def record_search(output: Path, update: IndexUpdate) -> None:
    """Remember the parts' signatures for the next build."""
    record_output(output, NAME, " ".join(update.signatures))


def get_generators(_pelican: Any) -> type[Generator]:
    return SearchGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
