"""Pelican plugin: the `/search/` page and its Pagefind index.

The page is one of the site's pages. The pipeline calls `index_search` once
every page is written, inside the staging folder, so the index is swapped in
with the rest of the site. Only the search page loads Pagefind, and only when
someone searches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.features import SEARCH
from generator.pagewriter import PageSpec, page_file, read_outputs, record_output, signature
from generator.schema import IdeaStatus
from generator.search_parts import part_count, plan
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
    """Adds /search/ to the footer and to the site's pages."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.context["views"]
        self.context.setdefault("feature_links", []).append(dict(SEARCH))

    def page_specs(self, shared: str) -> Iterator[PageSpec]:
        options = search_options(self.views)
        parts = [f"/{part_folder(n)}/" for n in range(1, parts_of(self.views))]
        values = {"search": options, "pagefind_url": f"/{BUNDLE}/pagefind.js", "pagefind_parts": parts}
        yield PageSpec(PAGE, "search", values, signature(shared, "search", PAGE, repr(values)))


@dataclass
class SearchIndex:
    """What `index_search` did: the parts it (re)built, and Pagefind's peak memory (MiB, the most two processes at once held)."""

    parts: int
    indexed: list[int] = field(default_factory=list)
    peak_mib: float = 0.0
    kept: list[str] = field(default_factory=list)
    """Folders of the site kept whole (ending in /): the parts left as they are."""


def index_search(views: SiteViews, indexed: Mapping[str, str], output: Path, code_signature: str, incremental: bool) -> SearchIndex:
    """The Pagefind index of the pages `indexed` (URL → signature), each part rebuilt only when a page indexed in it changed."""
    count = parts_of(views)
    members = plan(list(indexed), count)
    made_with = (code_signature, _pagefind_version(), count)
    signatures = [signature(made_with, tuple((url, indexed[url]) for url in urls)) for urls in members]
    previous = read_outputs(output) if incremental else {}
    todo = [n for n in range(count) if previous.get(f"{NAME}:{n}") != signatures[n] or not (output / part_folder(n) / "pagefind.js").is_file()]
    result = SearchIndex(count, todo, kept=[f"{BUNDLE}/"])  # parts left as they are stay; remove_parts_from drops the rest
    if todo:
        # Pagefind reads just each part's indexed pages, not the listings around them. It keeps about
        # one and a third cores busy, so two parts are indexed at once when there are several.
        with ThreadPoolExecutor(max_workers=SEARCH_WORKERS) as pool:
            peaks = sorted(pool.map(lambda n: index_part(output, n, [page_file(url) for url in members[n]]), todo), reverse=True)
        result.peak_mib = sum(peaks[:SEARCH_WORKERS])
    remove_parts_from(output, count)
    for number, value in enumerate(signatures):
        record_output(output, f"{NAME}:{number}", value)
    return result


def _pagefind_version() -> str:
    try:
        return metadata.version("pagefind")
    except metadata.PackageNotFoundError:
        return ""


def get_generators(_pelican: Any) -> type[Generator]:
    return SearchGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
