"""Pelican plugin: the `/search/` page and its Pagefind index.

The index is built once every page is written (Pelican's `finalized` signal),
inside the staging folder, so it is swapped in with the rest of the site. Only
the search page loads Pagefind, and only when someone searches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.features import SEARCH
from generator.pagefind import BUNDLE, part_folder
from generator.pagewriter import read_outputs, record_output
from generator.schema import IdeaStatus
from generator.search_parts import part_count, update_index
from generator.timing import stage, timed
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
    """Writes /search/ and adds it to the footer."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.settings["CONSULT_VIEWS"]
        self.context.setdefault("feature_links", []).append(dict(SEARCH))

    @stage("search page")
    def generate_output(self, writer: Any) -> None:
        template = self.get_template("search")
        options = search_options(self.views)
        parts = [f"/{part_folder(n)}/" for n in range(1, parts_of(self.views))]
        writer.write_file("search/index.html", template, self.context, page_url=PAGE, search=options, pagefind_url=f"/{BUNDLE}/pagefind.js", pagefind_parts=parts)


def build_index(pelican: Any) -> None:
    """After every page is written: the Pagefind index, each part re-indexed only when a page indexed in it changed.

    Timed as its own build stage, with Pagefind's peak memory, when the build keeps timings.
    """
    settings = pelican.settings
    if NAME not in settings.get("PLUGINS", []) or "CONSULT_VIEWS" not in settings:
        return
    output = Path(pelican.output_path)
    settings.setdefault("CONSULT_KEPT", set()).add(f"{BUNDLE}/")  # parts left as they are stay; update_index removes what it drops
    if not settings.get("CONSULT_SEARCH_INDEX", True) and (output / BUNDLE).is_dir():
        return  # a preview under `consult serve`: keep the last full build's index
    previous = read_outputs(output).get(NAME, "").split() if settings.get("CONSULT_INCREMENTAL") else []
    timings = settings.get("CONSULT_TIMINGS")
    if timings:
        timings.note_build_peak()  # before Pagefind, whose memory is reported on its own
    with timed(settings, "search index"):
        update = update_index(output, settings.get("CONSULT_INDEXED", {}), previous, parts_of(settings["CONSULT_VIEWS"]), settings.get("CONSULT_CODE_SIGNATURE", ""))
    if timings and update.reindexed:
        timings.peaks["search index"] = update.peak_mib
    record_output(output, NAME, " ".join(update.signatures))


def get_generators(_pelican: Any) -> type[Generator]:
    return SearchGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
    signals.finalized.connect(build_index)
