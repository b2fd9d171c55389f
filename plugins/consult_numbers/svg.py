"""Static, accessible SVG bar charts: drawn at build time, no JavaScript.

Each chart has `role="img"`, a `<title>` and a `<desc>` it is labelled by, and
a viewBox with `width="100%"` so it shrinks to any screen (the page's data
table carries the same figures for anyone who prefers numbers).
"""

from __future__ import annotations

from markupsafe import Markup, escape

from .figures import Figure

WIDTH = 320
LABEL_HEIGHT = 18
BAR_HEIGHT = 18
GAP = 10
VALUE_SPACE = 40
FONT_SIZE = 13
MAX_LABEL = 46
BAR_COLOUR = "#005eb8"  # NHS blue: 7:1 against white
TEXT_COLOUR = "#212b32"  # NHS text colour


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def bar_chart(figure: Figure) -> Markup:
    """A horizontal bar chart: each row's label above its bar, the count after it."""
    row_height = LABEL_HEIGHT + BAR_HEIGHT + GAP
    height = max(row_height * len(figure.rows), row_height)
    largest = max((row.count for row in figure.rows), default=0) or 1
    span = WIDTH - VALUE_SPACE
    title_id, desc_id = f"chart-{figure.key}-title", f"chart-{figure.key}-desc"
    parts = [
        (
            f'<svg class="consult-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
            f'preserveAspectRatio="xMinYMin meet" role="img" aria-labelledby="{title_id} {desc_id}" focusable="false" '
            f'style="max-width: 30rem; display: block" font-size="{FONT_SIZE}" fill="{TEXT_COLOUR}">'
        ),
        f'<title id="{title_id}">{escape(figure.title)}</title>',
        f'<desc id="{desc_id}">{escape(figure.description)}</desc>',
    ]
    for index, row in enumerate(figure.rows):
        top = index * row_height
        bar = span * row.count / largest
        parts.append(
            f'<g><text x="0" y="{top + LABEL_HEIGHT - 5}">{escape(_short(row.label))}</text>'
            f'<rect x="0" y="{top + LABEL_HEIGHT}" width="{_number(bar)}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"></rect>'
            f'<text x="{_number(bar + 6)}" y="{top + LABEL_HEIGHT + BAR_HEIGHT - 5}">{row.count}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
