"""Pelican plugin: Atom feeds (whole site, each challenge, updates), sitemap.xml and robots.txt.

The generator puts the feed links in the shared context (every page's head
links them); the pipeline calls `write_feeds` with the pages, and
`write_sitemap` once every page is known.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.outputs import write_output
from generator.views import SiteViews

from .atom import all_feeds, feed_links
from .sitemap import robots, sitemap


class FeedsGenerator(Generator):
    """Puts the feed links in the shared context."""

    def generate_context(self) -> None:
        self.context["feeds"] = feed_links(self.context["views"])


def write_feeds(views: SiteViews, output: Path) -> list[str]:
    """Write every Atom feed; return their site paths."""
    feeds = all_feeds(views)
    for path, document in feeds.items():
        write_output(output, path, document)
    return list(feeds)


def write_sitemap(views: SiteViews, page_urls: Iterable[str], output: Path) -> None:
    """sitemap.xml (every page but the 404 page and merged duplicates, whose pages point to their originals) and robots.txt."""
    config = views.site.config
    merged = {duplicate.url for duplicate in views.duplicates.values()}
    listed = [url for url in page_urls if url not in merged and not url.endswith(".html")]
    write_output(output, "/sitemap.xml", sitemap(config, listed))
    write_output(output, "/robots.txt", robots(config))


def get_generators(_pelican: Any) -> type[Generator]:
    return FeedsGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
