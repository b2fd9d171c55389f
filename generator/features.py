"""The footer's links to the site's own feature pages, declared once for the build's plugins and the intake's pages.

Each plugin that writes one of these pages adds its link to the footer; the
intake, which cannot run the plugins, shows the same list, so its pages carry
the same footer as the site's.
"""

from __future__ import annotations

SEARCH = {"href": "/search/", "text": "Search"}
NUMBERS = {"href": "/numbers/", "text": "Numbers"}
OPEN_DATA = {"href": "/data/", "text": "Open data"}

FEATURE_LINKS: tuple[dict[str, str], ...] = (SEARCH, NUMBERS, OPEN_DATA)
"""In the order the plugins register (generator.engine.plugins)."""
