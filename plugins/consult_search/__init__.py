"""Pelican plugin: the `/search/` page and its Pagefind index.

The index is built once every page is written (Pelican's `finalized` signal),
inside the staging folder, so it is swapped in with the rest of the site. Only
the search page loads Pagefind, and only when someone searches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from pelican import signals
from pelican.generators import Generator

from generator.schema import IdeaStatus
from generator.views import SiteViews
from generator.timing import stage, timed

from .pagefind import BUNDLE, index_site, part_folder

NAME = "consult_search"
PAGE = "/search/"


class Choice(NamedTuple):
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


def index_parts(views: SiteViews) -> list[list[str]]:
    """Idea pages indexed apart from the main bundle: on a large site, every part after the first `search_part_ideas` ideas."""
    size = views.site.config.search_part_ideas
    pages = sorted(f"{idea.url.strip('/')}/index.html" for idea in views.ideas.values())
    return [pages[start : start + size] for start in range(size, len(pages), size)]


class SearchGenerator(Generator):
    """Writes /search/ and adds it to the footer."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.settings["CONSULT_VIEWS"]
        self.context.setdefault("feature_links", []).append({"href": PAGE, "text": "Search"})

    @stage("search page")
    def generate_output(self, writer: Any) -> None:
        template = self.get_template("search")
        options = search_options(self.views)
        parts = [f"/{part_folder(n)}/" for n in range(1, len(index_parts(self.views)) + 1)]
        writer.write_file("search/index.html", template, self.context, page_url=PAGE, search=options, pagefind_url=f"/{BUNDLE}/pagefind.js", pagefind_parts=parts)


def build_index(pelican: Any) -> None:
    """After every page is written: the Pagefind index (timed as its own build stage when the build keeps timings)."""
    settings = pelican.settings
    if NAME not in settings.get("PLUGINS", []) or "CONSULT_VIEWS" not in settings:
        return
    stats = settings.get("CONSULT_RENDER_STATS")
    unchanged = settings.get("CONSULT_INCREMENTAL") and stats is not None and stats.rendered == 0 and stats.removed == 0
    if (unchanged or not settings.get("CONSULT_SEARCH_INDEX", True)) and (Path(pelican.output_path) / BUNDLE).is_dir():
        settings["CONSULT_SEARCH_SKIPPED"] = f"{BUNDLE}/"  # keep the index the last full build made
        return
    timings = settings.get("CONSULT_TIMINGS")
    if timings:
        timings.note_build_peak()  # before Pagefind, whose memory is reported on its own
    with timed(settings, "search index"):
        _bundle, peak_mib = index_site(Path(pelican.output_path), index_parts(settings["CONSULT_VIEWS"]))
    if timings:
        timings.peaks["search index"] = peak_mib


def get_generators(_pelican: Any) -> type[Generator]:
    return SearchGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
    signals.finalized.connect(build_index)
