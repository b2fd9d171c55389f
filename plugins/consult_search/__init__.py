"""Pelican plugin: the `/search/` page and its Pagefind index.

The index is built once every page is written (Pelican's `finalized` signal),
inside the staging folder, so it is swapped in with the rest of the site. Only
the search page loads Pagefind, and only when someone searches.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.features import SEARCH
from generator.pagewriter import page_file, read_outputs, record_output, signature
from generator.schema import IdeaStatus
from generator.search_parts import part_count, plan
from generator.timing import stage, timed
from generator.views import SiteViews

from .pagefind import BUNDLE, index_part, part_folder, remove_parts_from

NAME = "consult_search"
SEARCH_WORKERS = 2
"""Pagefind processes run at once for a site indexed in parts."""
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
    """After every page is written: the Pagefind index, each part rebuilt only when a page indexed in it changed.

    Timed as its own build stage, with Pagefind's peak memory, when the build keeps timings.
    """
    settings = pelican.settings
    if NAME not in settings.get("PLUGINS", []) or "CONSULT_VIEWS" not in settings:
        return
    output = Path(pelican.output_path)
    settings.setdefault("CONSULT_KEPT", set()).add(f"{BUNDLE}/")  # parts left as they are stay; the plugin removes what it drops
    if not settings.get("CONSULT_SEARCH_INDEX", True) and (output / BUNDLE).is_dir():
        return  # a preview under `consult serve`: keep the last full build's index
    indexed: dict[str, str] = settings.get("CONSULT_INDEXED", {})
    count = parts_of(settings["CONSULT_VIEWS"])
    members = plan(list(indexed), count)
    made_with = (settings.get("CONSULT_CODE_SIGNATURE", ""), _pagefind_version(), count)
    signatures = [signature(made_with, tuple((url, indexed[url]) for url in urls)) for urls in members]
    previous = read_outputs(output) if settings.get("CONSULT_INCREMENTAL") else {}
    todo = [n for n in range(count) if previous.get(f"{NAME}:{n}") != signatures[n] or not (output / part_folder(n) / "pagefind.js").is_file()]
    if todo:
        timings = settings.get("CONSULT_TIMINGS")
        if timings:
            timings.note_build_peak()  # before Pagefind, whose memory is reported on its own
        # Pagefind reads just each part's indexed pages, not the listings around them. It keeps about
        # one and a third cores busy, so two parts are indexed at once when there are several.
        with timed(settings, "search index"), ThreadPoolExecutor(max_workers=SEARCH_WORKERS) as pool:
            peaks = sorted(pool.map(lambda n: index_part(output, n, [page_file(url) for url in members[n]]), todo), reverse=True)
        if timings:
            timings.peaks["search index"] = sum(peaks[:SEARCH_WORKERS])  # the most two processes at once can hold
    remove_parts_from(output, count)
    for number, value in enumerate(signatures):
        record_output(output, f"{NAME}:{number}", value)


def _pagefind_version() -> str:
    try:
        return metadata.version("pagefind")
    except metadata.PackageNotFoundError:
        return ""


def get_generators(_pelican: Any) -> type[Generator]:
    return SearchGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
    signals.finalized.connect(build_index)
