"""Markdown: plain text taken from the rendered HTML is what a direct reduction of the Markdown gives."""

from __future__ import annotations

import html

import nh3
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.markdown import _parser, plain_text, render, render_all

PIECES = [
    "word",
    "Fish & chips",
    "<b>bold</b>",
    "*em*",
    "**strong**",
    "`code`",
    "[link](https://example.org)",
    "[bad](javascript:alert(1))",
    "![img](https://example.org/x.png)",
    "# Heading",
    "###### Small",
    "- item",
    "1. first",
    "> quote",
    "    indented",
    "---",
    "===",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "&amp;",
    "&#x41;",
    "\\*",
    "<script>x</script>",
    "\u00a0",
    "é",
    "\t",
    "  ",
    "\n",
    "\n\n",
]


def direct(text: str) -> str:
    """The Markdown reduced without the sanitised HTML in between (how plain text was made before)."""
    return " ".join(html.unescape(nh3.clean(_parser().render(text), tags=set())).split())


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=12), max_size=14).map(" ".join))
def test_plain_text_from_the_rendered_html_matches(text: str) -> None:
    assert plain_text(text) == direct(text)


def test_render_all_keeps_order_and_matches_render() -> None:
    texts = [f"Idea number *{n}* & more" for n in range(2500)]  # enough to use both cores
    assert render_all(texts) == [str(render(t)) for t in texts]
