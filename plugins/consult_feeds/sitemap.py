"""sitemap.xml and robots.txt, from the pages actually written."""

from __future__ import annotations

from xml.sax.saxutils import escape

from generator.config import SiteConfig
from generator.outputs import absolute_url
from generator.theme import base_path

EXCLUDED = ("/share/thank-you/",)
"""Pages that are reached only after an action and are not worth indexing."""


def sitemap(config: SiteConfig, paths: list[str]) -> str:
    """A sitemaps.org document listing every page, sorted (no dates: the content has no per-page revision date)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for path in sorted(p for p in paths if p not in EXCLUDED):
        lines.append(f"  <url><loc>{escape(absolute_url(config, path))}</loc></url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def robots(config: SiteConfig) -> str:
    """Allow everything except the thank-you page, and point crawlers at the sitemap."""
    prefix = base_path(config.base_url)
    disallow = "".join(f"Disallow: {prefix}{path}\n" for path in EXCLUDED)
    return f"User-agent: *\n{disallow}Allow: /\n\nSitemap: {absolute_url(config, '/sitemap.xml')}\n"
