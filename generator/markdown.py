"""Markdown to safe HTML: raw HTML is escaped by the parser, then sanitised again.

markdown-it-py with `html` off never passes raw HTML through and refuses
`javascript:`/`vbscript:`/`data:` links; nh3 (the ammonia sanitiser) then
removes anything outside a small allow-list, as a second line of defence.
"""

from __future__ import annotations

import html
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from .parallel import parallel_map

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h2",
    "h3",
    "h4",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def _shift_headings(html: str) -> str:
    """The page owns h1; a '#' heading in content becomes h2 so levels never skip."""
    return (
        html.replace("<h1>", "<h2>")
        .replace("</h1>", "</h2>")
        .replace("<h5>", "<h4>")
        .replace("</h5>", "</h4>")
        .replace("<h6>", "<h4>")
        .replace("</h6>", "</h4>")
    )


@lru_cache(maxsize=200_000)
def render(text: str) -> Markup:
    """Render Markdown to HTML that is safe to put in a page (memoised: a rebuild in one process reuses unchanged texts)."""
    html = _shift_headings(_parser().render(text))
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Markup(clean)


def plain_text_of(html_text: str, limit: int = 0) -> str:
    """Rendered (safe) HTML reduced to plain text: tags dropped, entities decoded, whitespace collapsed."""
    text_only = " ".join(html.unescape(nh3.clean(html_text, tags=set())).split())
    if limit and len(text_only) > limit:
        return text_only[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text_only


def plain_text(text: str, limit: int = 0) -> str:
    """Markdown reduced to plain text (for summaries, feeds, search and open data)."""
    return plain_text_of(render(text), limit)


def render_all(texts: list[str]) -> list[str]:
    """Render many Markdown texts, over both cores when there are many (the build's Markdown stage)."""
    return parallel_map(_render_text, texts)


def _render_text(text: str) -> str:
    return str(render(text))
