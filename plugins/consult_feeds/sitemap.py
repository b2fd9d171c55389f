"""sitemap.xml and robots.txt, from the pages actually written."""

from __future__ import annotations

from xml.sax.saxutils import escape

from generator.config import SiteConfig
from generator.outputs import absolute_url
from generator.theme import base_path


def sitemap(config: SiteConfig, paths: list[str]) -> str:
    """A sitemaps.org document listing every page, sorted (no dates: the content has no per-page revision date)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for path in sorted(paths):
        lines.append(f"  <url><loc>{escape(absolute_url(config, path))}</loc></url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def robots(config: SiteConfig) -> str:
    """Allow everything but the intake's pages (confirmations and statuses, which show what a person sent before
    moderation), and point crawlers at the sitemap."""
    prefix = base_path(config.base_url)
    intake = config.intake_url.rstrip("/")
    disallow = f"Disallow: {prefix}{intake}/\n" if intake.startswith("/") else ""
    return f"User-agent: *\n{disallow}Allow: /\n\nSitemap: {absolute_url(config, '/sitemap.xml')}\n"
