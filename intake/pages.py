"""The intake's own pages: the confirmation after a form is sent and a submission's status.

Rendered by the server on the site's theme, with the site's header and footer,
so they work without JavaScript and look like the static site's pages. What a
person sent is shown back to them from the intake's store (never their name,
email or address), until it is purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from generator.features import FEATURE_LINKS

from .catalogue import Catalogue
from .settings import IntakeSettings
from .store import Record

STATE_TAGS: dict[str, tuple[str, str]] = {
    "received": ("Received", "white"),
    "proposed": ("With the editors", "orange"),
    "merged": ("Published", "aqua-green"),
    "closed": ("Not published", "red"),
}
"""A submission's state: its word and its tag colour, none of them used by an idea's status (generator.theme)."""

KIND_LABELS = {"idea": "idea", "comment": "comment", "topic": "discussion topic"}

TEXT_FIELDS = {"idea": ("idea", "Your idea"), "comment": ("comment", "Your comment"), "topic": ("post", "Your opening post")}
"""Which stored field holds the text a person wrote, and its row's name in the summary list."""


@dataclass(frozen=True)
class Link:
    text: str
    href: str


def render_page(templates: Environment, catalogue: Catalogue, template: str, status: int, **context: Any) -> HTMLResponse:
    """A page of the intake in the site's frame: the same footer links as every page of the site."""
    html = templates.get_template(template).render(footer_pages=catalogue.pages, feature_links=list(FEATURE_LINKS), **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})


def paragraphs(text: str) -> Markup:
    """Plain text as escaped paragraphs, single line breaks kept: never rendered as Markdown or HTML."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    return Markup("").join(Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in block.split("\n"))) for block in blocks)


def sent_rows(record: Record, catalogue: Catalogue) -> list[tuple[str, Markup | str]]:
    """What the person sent, as summary-list rows (empty once the intake has purged it)."""
    fields = record.fields or {}
    if not fields:
        return []
    rows: list[tuple[str, Markup | str]] = []
    if record.kind in ("idea", "topic"):
        challenge = catalogue.challenges.get(fields.get("challenge", ""))
        rows.append(("Challenge", challenge.title if challenge else fields.get("challenge", "")))
        rows.append(("Title", fields.get("title", "")))
    elif record.kind == "comment":
        rows.append(("Comment on", catalogue.target_title(fields.get("target", ""))))
    name, label = TEXT_FIELDS.get(record.kind, ("", ""))
    if name:
        rows.append((label, paragraphs(fields.get(name, ""))))
    return rows


def discussion_link(record: Record, catalogue: Catalogue, settings: IntakeSettings) -> Link | None:
    """Where the person came from: the idea or topic a comment is on, or the challenge of an idea or topic."""
    fields = record.fields or {}
    if record.kind == "comment":
        kind, _, slug = fields.get("target", "").partition(":")
        title = catalogue.target_title(fields.get("target", ""))
        if kind == "idea" and slug in catalogue.ideas:
            return Link(f"Back to the discussion on ‘{title}’", settings.site_link(f"/ideas/{slug}/#discussion"))
        if kind == "topic" and slug in catalogue.topics:
            return Link(f"Back to the discussion ‘{title}’", settings.site_link(f"/challenges/{catalogue.topics[slug]}/topics/{slug}/#discussion"))
        return None
    challenge = catalogue.challenges.get(fields.get("challenge", ""))
    if challenge is None:
        return None
    if record.kind == "topic":
        return Link(f"Back to the discussion topics on ‘{challenge.title}’", settings.site_link(f"/challenges/{challenge.slug}/"))
    return Link(f"Back to ‘{challenge.title}’", settings.site_link(f"/challenges/{challenge.slug}/"))


def confirmation_page(
    templates: Environment, catalogue: Catalogue, settings: IntakeSettings, record: Record, status_url: str, subscribed: bool = False
) -> HTMLResponse:
    """The NHS.UK confirmation page: the reference in the green panel, how to follow it, and the way back.
    `subscribed`: the person asked to be emailed about it."""
    return render_page(
        templates,
        catalogue,
        "confirmation.html",
        200,
        reference=record.reference,
        kind=record.kind,
        kind_label=KIND_LABELS.get(record.kind, "submission"),
        gave_email=subscribed,
        status_url=status_url,
        back=discussion_link(record, catalogue, settings),
    )


def status_page(
    templates: Environment, catalogue: Catalogue, settings: IntakeSettings, record: Record, published_url: str | None, status_action: str
) -> HTMLResponse:
    """Where a submission is, in words and as a tag, and what the person sent while the intake keeps it."""
    label, colour = STATE_TAGS[record.state]
    return render_page(
        templates,
        catalogue,
        "status.html",
        200,
        found=True,
        reference=record.reference,
        state=record.state,
        state_label=label,
        state_colour=colour,
        received=record.received_at.date(),
        reason=record.reason,
        kind_label=KIND_LABELS.get(record.kind, "submission"),
        sent=sent_rows(record, catalogue),
        published_url=published_url,
        status_action=status_action,
        back=discussion_link(record, catalogue, settings),
    )


def not_found_page(templates: Environment, catalogue: Catalogue, reference: str, status_action: str) -> HTMLResponse:
    """No submission has this reference: say so, and offer the reference form again."""
    return render_page(templates, catalogue, "status.html", 404, found=False, reference=reference[:20], status_action=status_action)
