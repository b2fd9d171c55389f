"""Open data: the published ideas and comments as CSV and JSON.

Shared by the site build (`/data/`) and `consult export`, so analysts get
exactly the files the site publishes. Only public, moderated content goes
in: no credit names and never a contact detail; anything that looks like an
email address in the text is replaced.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .config import SiteConfig
from .markdown import plain_text
from .outputs import absolute_url, write_output
from .parallel import parallel_map
from .views import CommentView, IdeaView, SiteViews

Format = Literal["csv", "json"]
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Spreadsheets run a cell starting with these as a formula: such CSV cells get a leading apostrophe."""


@dataclass(frozen=True)
class Field:
    name: str
    description: str


IDEA_FIELDS = (
    Field("reference", "The idea's reference, for example TH-7QK2M. Unique and permanent."),
    Field("challenge", "Short name (slug) of the challenge the idea answers."),
    Field("challenge_title", "Title of that challenge."),
    Field("title", "The idea's title."),
    Field("summary", "A summary written by the editorial team; empty if there is none yet."),
    Field("text", "The idea as published, as plain text."),
    Field("status", "Where the idea is: waiting (for a response), under-consideration, responded, adopted or not-taken-forward."),
    Field("submitted", "Date the idea was submitted (YYYY-MM-DD)."),
    Field("published", "Date it was published on the site (YYYY-MM-DD)."),
    Field("tags", "Tags, separated by semicolons in the CSV file (a list in JSON)."),
    Field("role", "Staff role the person gave, if any."),
    Field("region", "Region the person gave, if any."),
    Field("supporters", "How many people sent this same idea in (the editors merged their ideas into this one)."),
    Field("supports", "How many people support the idea (“I support this idea”), its merged duplicates included, when the site was built; empty when the build had no counts."),
    Field("comments", "Number of published comments on the idea."),
    Field("response", "The organisation's response, as plain text; empty if there is none yet."),
    Field("response_by", "Team or role that responded."),
    Field("response_date", "Date of the response (YYYY-MM-DD)."),
    Field("url", "Address of the idea's page."),
)

COMMENT_FIELDS = (
    Field("reference", "The comment's reference. Unique and permanent."),
    Field("target_type", "What the comment is about: idea or topic (a discussion topic)."),
    Field("target", "Short name (slug) of that idea or topic."),
    Field("challenge", "Short name (slug) of the challenge it belongs to."),
    Field("reply_to", "Reference of the comment this one replies to; empty for a comment that starts a thread."),
    Field("submitted", "Date the comment was written (YYYY-MM-DD)."),
    Field("text", "The comment, as plain text."),
    Field("url", "Address of the page where the comment appears."),
)

FILES = {"csv": ("ideas.csv", "comments.csv"), "json": ("ideas.json",)}


def scrub(text: str) -> str:
    """Plain text with anything that looks like an email address removed."""
    return EMAIL.sub("[email address removed]", text)


def _date(value: Any) -> str | None:
    return value.isoformat() if value else None


def idea_record(config: SiteConfig, idea: IdeaView) -> dict[str, Any]:
    """One idea as a JSON-ready dict, fields in IDEA_FIELDS order."""
    meta, response = idea.meta, idea.meta.response
    return {
        "reference": meta.reference,
        "challenge": meta.challenge,
        "challenge_title": idea.challenge.title if idea.challenge else meta.challenge,
        "title": scrub(meta.title),
        "summary": scrub(meta.summary),
        "text": scrub(idea.text),
        "status": meta.status.value,
        "submitted": _date(meta.submitted),
        "published": _date(meta.published),
        "tags": list(meta.tags),
        "role": meta.role,
        "region": meta.region,
        "supporters": meta.supporters,
        "supports": idea.supports,
        "comments": idea.comment_count,
        "response": scrub(plain_text(response.text)) if response else None,
        "response_by": response.by if response else None,
        "response_date": _date(response.date) if response else None,
        "url": absolute_url(config, idea.url),
    }


def _flatten(comments: Iterable[CommentView]) -> Iterable[CommentView]:
    for comment in comments:
        yield comment
        yield from comment.replies


@dataclass(frozen=True)
class Selection:
    """The ideas and comments to publish, optionally for one challenge, in a stable order."""

    ideas: list[IdeaView]
    comments: list[tuple[CommentView, str, str]]
    """(comment, challenge slug, page URL)."""


def select(views: SiteViews, challenge: str | None = None) -> Selection:
    """Ideas oldest first (by submission, then reference); comments by date then reference."""
    ideas = [i for i in views.ideas.values() if challenge is None or i.meta.challenge == challenge]
    ideas.sort(key=lambda i: (i.meta.submitted, i.meta.reference))
    threads = [(idea.comments, idea.meta.challenge, idea.url) for idea in views.ideas.values()]
    threads += [(topic.comments, topic.meta.challenge, topic.url) for topic in views.topics.values()]
    comments = [(c, slug, url) for thread, slug, url in threads if challenge is None or slug == challenge for c in _flatten(thread)]
    comments.sort(key=lambda item: (item[0].meta.submitted, item[0].meta.reference))
    return Selection(ideas, comments)


def comment_record(config: SiteConfig, comment: CommentView, challenge: str, page: str) -> dict[str, Any]:
    kind, _, slug = comment.meta.target.partition(":")
    return {
        "reference": comment.meta.reference,
        "target_type": kind,
        "target": slug,
        "challenge": challenge,
        "reply_to": comment.meta.reply_to,
        "submitted": _date(comment.meta.submitted),
        "text": scrub(comment.text),
        "url": absolute_url(config, f"{page}#comment-{comment.meta.reference}"),
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


BOM = "\ufeff"
"""UTF-8 byte order mark: without it Excel reads a CSV file in the PC's legacy code page ("£" shows as "Â£")."""


def to_csv(records: list[dict[str, Any]], fields: tuple[Field, ...]) -> str:
    """RFC 4180 CSV (CRLF line ends) starting with a byte order mark, a header row then one row per record."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f.name for f in fields])
    for record in records:
        writer.writerow([_cell(record[f.name]) for f in fields])
    return out.getvalue()


def to_json(config: SiteConfig, records: list[dict[str, Any]]) -> str:
    """The ideas with the licence and source alongside, pretty-printed and stable."""
    document = {
        "title": f"Ideas published on {config.title}",
        "publisher": config.organisation.name,
        "licence": config.licence,
        "licence_url": config.licence_url,
        "source": absolute_url(config, "/data/"),
        "count": len(records),
        "fields": {f.name: f.description for f in IDEA_FIELDS},
        "ideas": records,
    }
    return inert_json(document)


HTML_SIGNIFICANT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def inert_json(document: object) -> str:
    """JSON with `<`, `>` and `&` written as \\u escapes: the same data once decoded, but no markup
    if the file is ever sniffed as HTML or pasted into a page's script element."""
    return json.dumps(document, ensure_ascii=False, indent=2).translate(HTML_SIGNIFICANT) + "\n"


@dataclass(frozen=True)
class Records:
    ideas: list[dict[str, Any]]
    comments: list[dict[str, Any]]


def records(views: SiteViews, challenge: str | None = None) -> Records:
    """Every idea and comment as a record (over both cores on a large site: each text is turned into plain text)."""
    config = views.site.config
    chosen = select(views, challenge)
    ideas = parallel_map(functools.partial(idea_record, config), chosen.ideas)
    comments = parallel_map(functools.partial(_comment_record, config), chosen.comments)
    return Records(ideas, comments)


def _comment_record(config: SiteConfig, item: tuple[CommentView, str, str]) -> dict[str, Any]:
    return comment_record(config, *item)


def render_files(views: SiteViews, formats: Iterable[Format], challenge: str | None = None) -> dict[str, str]:
    """File name → contents, for each format asked for."""
    config = views.site.config
    chosen = records(views, challenge)
    files = {}
    for fmt in dict.fromkeys(formats):
        if fmt == "json":
            files["ideas.json"] = to_json(config, chosen.ideas)
        else:
            files["ideas.csv"] = to_csv(chosen.ideas, IDEA_FIELDS)
            files["comments.csv"] = to_csv(chosen.comments, COMMENT_FIELDS)
    return files


def write_files(views: SiteViews, output: Path, formats: Iterable[Format], challenge: str | None = None, folder: str = "/") -> list[Path]:
    """Write the files of each format into output/folder; return their paths."""
    return [write_output(output, f"{folder.rstrip('/')}/{name}", text) for name, text in render_files(views, formats, challenge).items()]
