"""Pelican plugin: Atom feeds (whole site, each challenge, updates), sitemap.xml and robots.txt.

Feeds are written with the pages; the sitemap is written once every page is
(Pelican's `finalized` signal), so it lists pages from every plugin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.features import FEATURE_LINKS
from generator.outputs import page_paths, write_output
from generator.pagewriter import page_file, read_manifest
from generator.timing import stage
from generator.views import SiteViews

from .atom import all_feeds, feed_links
from .sitemap import robots, sitemap

NAME = "consult_feeds"


class FeedsGenerator(Generator):
    """Puts the feed links in the shared context and writes the Atom files."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.settings["CONSULT_VIEWS"]
        self.context["feeds"] = feed_links(self.views)

    @stage("feeds")
    def generate_output(self, writer: Any) -> None:
        for path, document in all_feeds(self.views).items():
            write_output(Path(self.output_path), path, document)


@stage("sitemap")
def write_sitemap(pelican: Any) -> None:
    """After every page is written: sitemap.xml and robots.txt."""
    settings = pelican.settings
    if NAME not in settings.get("PLUGINS", []) or "CONSULT_VIEWS" not in settings:
        return
    output = Path(pelican.output_path)
    views: SiteViews = settings["CONSULT_VIEWS"]
    config = views.site.config
    merged = {duplicate.url for duplicate in views.duplicates.values()}  # their pages point to the originals, which are listed
    write_output(output, "/sitemap.xml", sitemap(config, [path for path in page_paths(written_pages(output)) if path not in merged]))
    write_output(output, "/robots.txt", robots(config))


def written_pages(output: Path) -> list[str]:
    """The HTML files of this build: every page spec's (the pages manifest) and the feature pages the other plugins wrote."""
    features = [page_file(link["href"]) for link in FEATURE_LINKS]
    return [page_file(url) for url in read_manifest(output)] + [file for file in features if (output / file).is_file()]


def get_generators(_pelican: Any) -> type[Generator]:
    return FeedsGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
    signals.finalized.connect(write_sitemap)
