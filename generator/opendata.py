"""Open data: the published ideas and comments as CSV and JSON.

Shared by the site build (`/data/`) and `consult export`, so analysts get
exactly the files the site publishes. Only public, moderated content goes
in: no credit names and never a contact detail; anything that looks like an
email address in the text is replaced.

Each record is finished once (its CSV row and its JSON object, as text) and
kept by a key made of exactly what the record shows (`Kept`), so after one
edit the files are the kept records joined, with only the edited entry's
record made again.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import pickle
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from .atomic import write_atomic
from .config import SiteConfig
from .markdown import plain_text
from .outputs import absolute_url, write_output_pieces
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
    Field(
        "supports",
        "How many people support the idea (“I support this idea”), its merged duplicates included, when the site was built; empty when the build had no counts.",
    ),
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


def scrub(text: str) -> str:
    """Plain text with anything that looks like an email address removed."""
    if "@" not in text:  # most texts: the pattern would be tried at every word only to fail (0.45 s over the ideas and comments at 10,000 ideas)
        return text
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


Key = tuple[Any, ...]
"""What a record shows, as a tuple (cheap to hash; pickle stores a string shared by every key once)."""

CommentItem = tuple[CommentView, str, str]
"""(comment, challenge slug, page URL)."""


@dataclass(frozen=True)
class Selection:
    """The ideas and comments to publish, each with its record's key (`idea_key`, `comment_key`), in the files' order
    (`in_idea_order`, `in_comment_order`)."""

    ideas: list[tuple[Key, IdeaView]]
    comments: list[tuple[Key, CommentItem]]


def _idea_order(idea: IdeaView) -> tuple[dt.date, str]:
    meta = idea.entry.meta
    return meta.submitted, meta.reference


def _comment_order(item: CommentItem) -> tuple[dt.date, str]:
    meta = item[0].entry.meta
    return meta.submitted, meta.reference


def select_ideas(views: SiteViews, challenge: str | None = None) -> list[IdeaView]:
    """The ideas to publish, oldest first (by submission, then reference)."""
    ideas = [i for i in views.ideas.values() if challenge is None or i.entry.meta.challenge == challenge]
    ideas.sort(key=_idea_order)
    return ideas


def in_idea_order(keyed: Iterable[tuple[Key, IdeaView]]) -> list[tuple[Key, IdeaView]]:
    """Keyed ideas in the order `select_ideas` gives (its keys made once, for a signature say, are not made again)."""
    return sorted(keyed, key=lambda pair: _idea_order(pair[1]))


def comment_items(views: SiteViews, challenge: str | None = None) -> list[CommentItem]:
    """Every published comment as (comment, challenge slug, page URL), thread by thread (unsorted)."""
    threads = [(idea.comments, idea.entry.meta.challenge, idea.url) for idea in views.ideas.values()]
    threads += [(topic.comments, topic.entry.meta.challenge, topic.url) for topic in views.topics.values()]
    return [(c, slug, url) for thread, slug, url in threads if challenge is None or slug == challenge for c in _flatten(thread)]


def select_comments(views: SiteViews, challenge: str | None = None) -> list[CommentItem]:
    """The comments to publish, by date then reference."""
    comments = comment_items(views, challenge)
    comments.sort(key=_comment_order)
    return comments


def in_comment_order(keyed: Iterable[tuple[Key, CommentItem]]) -> list[tuple[Key, CommentItem]]:
    """Keyed comments in the order `select_comments` gives."""
    return sorted(keyed, key=lambda pair: _comment_order(pair[1]))


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


def csv_row(values: Iterable[Any]) -> str:
    """One RFC 4180 CSV row, CRLF-ended, each cell made safe for a spreadsheet."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([_cell(value) for value in values])
    return out.getvalue()


def csv_pieces(rows: Iterable[str], fields: tuple[Field, ...]) -> Iterator[str]:
    """A CSV file in pieces: a byte order mark and the header row, then the finished rows (from `csv_row`) as they are."""
    yield BOM + csv_row(f.name for f in fields)
    yield from rows


HTML_SIGNIFICANT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def inert_json(document: object) -> str:
    """JSON with `<`, `>` and `&` written as \\u escapes: the same data once decoded, but no markup
    if the file is ever sniffed as HTML or pasted into a page's script element."""
    return json.dumps(document, ensure_ascii=False, indent=2).translate(HTML_SIGNIFICANT) + "\n"


JSON_ITEM_INDENT = " " * 4
"""A record's indent in ideas.json: an item of the list under the document's "ideas" key."""


def json_item(record: dict[str, Any]) -> str:
    """A record as `inert_json` writes it inside ideas.json's "ideas" list (JSON strings never hold a raw newline)."""
    text = json.dumps(record, ensure_ascii=False, indent=2).translate(HTML_SIGNIFICANT)
    return JSON_ITEM_INDENT + text.replace("\n", "\n" + JSON_ITEM_INDENT)


def json_pieces(config: SiteConfig, items: Sequence[str]) -> Iterator[str]:
    """The ideas (finished by `json_item`) with the licence and source alongside, in pieces that make what
    `inert_json` gives for the whole document."""
    document = {
        "title": f"Ideas published on {config.title}",
        "publisher": config.organisation.name,
        "licence": config.licence,
        "licence_url": config.licence_url,
        "source": absolute_url(config, "/data/"),
        "count": len(items),
        "fields": {f.name: f.description for f in IDEA_FIELDS},
    }
    head = inert_json(document).removesuffix("\n}\n")  # "ideas" is the last key: it goes where the document closed
    if not items:
        yield f'{head},\n  "ideas": []\n}}\n'
        return
    yield f'{head},\n  "ideas": [\n'
    yield items[0]
    for item in items[1:]:
        yield ",\n"
        yield item
    yield "\n  ]\n}\n"


def to_json(config: SiteConfig, items: Sequence[str]) -> str:
    """The whole ideas.json (`json_pieces` joined)."""
    return "".join(json_pieces(config, items))


Finished = tuple[str, str]
"""A record as it appears in the files: its CSV row and its `json_item` text ('' for a comment, which has no JSON file)."""
T = TypeVar("T")
KEPT_VERSION = 1
"""Stored with the kept records; a change of their layout here invalidates every stored one."""


def records_file(root: Path, group: str) -> Path:
    """Where a build keeps the finished open-data records of `group` ("ideas" or "comments") between runs
    (git-ignored, restored by CI with the content cache); the records added since sit beside it (`changes_file`)."""
    return root / ".consult" / "cache" / f"opendata-{group}.pickle"


def changes_file(path: Path) -> Path:
    """Where the records added since the store at path was written whole are kept."""
    return path.with_name(f"{path.stem}-changes{path.suffix}")


REWRITE_FRACTION = 8
"""The store is written whole again once the records added since pass 1/REWRITE_FRACTION of it."""
UNUSED_FRACTION = 4
"""... or once more than 1/UNUSED_FRACTION of the records loaded went unused (edited entries' old records)."""


def _read_records(path: Path) -> dict[Key, Finished]:
    """The records pickled at path; none when it is missing, unreadable or of another layout (they are made again)."""
    try:
        version, records = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError):
        return {}
    return records if version == KEPT_VERSION and isinstance(records, dict) else {}


@dataclass
class Kept:
    """Finished records by key: the key holds everything the record shows, so a kept record is the one that would be made.

    Stored in two files: the whole store as a build last wrote it, and the records added since
    (`changes_file`). An edit makes a record or two, so it writes only the second, a few
    kilobytes, not the whole store (34 MB of ideas at 10,000 ideas). Every record is found by
    everything it shows, so a record read from either file is right whatever the other holds:
    a build stopped between writing the store and removing the added records leaves records
    that are merely kept twice.
    """

    records: dict[Key, Finished] = field(default_factory=dict)
    made: int = 0
    """Records made (not found) since loading."""
    used: set[Key] = field(default_factory=set, repr=False)
    stored: int = 0
    """How many records the whole store held when loaded (0: none, so the next save writes it whole)."""
    added: set[Key] = field(default_factory=set, repr=False)
    """The records not in the whole store: loaded from the added records, or made since loading."""

    @classmethod
    def load(cls, path: Path) -> Kept:
        """The records saved at path and beside it; none when they are missing or unreadable (they are made again)."""
        stored = _read_records(path)
        added = {key: record for key, record in _read_records(changes_file(path)).items() if key not in stored}
        return cls({**stored, **added}, stored=len(stored), added=set(added))

    def save(self, path: Path) -> None:
        """Keep what this build used: the records it added beside the store, or, when those have grown (or many
        stored ones went unused), the whole store again without the unused ones."""
        added = self.added & self.used
        unused = len(self.records) - len(self.used)
        if not self.stored or len(added) * REWRITE_FRACTION > self.stored or unused * UNUSED_FRACTION > len(self.records):
            write_atomic(path, pickle.dumps((KEPT_VERSION, {key: self.records[key] for key in self.used}), protocol=pickle.HIGHEST_PROTOCOL))
            changes_file(path).unlink(missing_ok=True)
            self.stored, self.added = len(self.used), set()
        elif self.made:
            records = {key: self.records[key] for key in added}
            write_atomic(changes_file(path), pickle.dumps((KEPT_VERSION, records), protocol=pickle.HIGHEST_PROTOCOL))

    def finish(self, items: Sequence[tuple[Key, T]], make: Callable[[T], Finished]) -> list[Finished]:
        """Each (key, item)'s finished record, kept or made now (over both cores when there are many to make)."""
        missing = {key: item for key, item in items if key not in self.records}
        made = parallel_map(make, list(missing.values()))
        self.records.update(zip(missing, made, strict=True))
        self.added.update(missing)
        self.made += len(made)
        self.used.update(key for key, _ in items)
        return [self.records[key] for key, _ in items]


def idea_key(config: SiteConfig, idea: IdeaView, made_with: str = "") -> Key:
    """Everything `idea_record` reads: the file (meta and body), its URL, challenge title and counts, the site's address."""
    challenge_title = idea.challenge.title if idea.challenge else None
    return ("idea", made_with, config.base_url, idea.entry.digest, idea.url, challenge_title, idea.supports, idea.comment_count)


def comment_key(config: SiteConfig, item: CommentItem, made_with: str = "") -> Key:
    """Everything `comment_record` reads: the file, the challenge and page it belongs to, the site's address."""
    comment, challenge, page = item
    return ("comment", made_with, config.base_url, comment.entry.digest, challenge, page)


def _finish_idea(config: SiteConfig, idea: IdeaView) -> Finished:
    record = idea_record(config, idea)
    return csv_row(record[f.name] for f in IDEA_FIELDS), json_item(record)


def _finish_comment(config: SiteConfig, item: CommentItem) -> Finished:
    record = comment_record(config, *item)
    return csv_row(record[f.name] for f in COMMENT_FIELDS), ""


def render_files(
    views: SiteViews,
    formats: Iterable[Format],
    challenge: str | None = None,
    kept: Kept | None = None,
    made_with: str = "",
    chosen: Selection | None = None,
    only: Collection[str] | None = None,
) -> dict[str, Iterator[str]]:
    """File name → contents in pieces (`csv_pieces`, `json_pieces`), for each format asked for; records are taken from
    `kept` when there, and added to it.

    `made_with` (the build's code signature) is part of every key, so a change of code makes every record again.
    `chosen` holds the ideas and comments with their keys, in order, when the caller has them already (made with the same
    `made_with`); `only` limits the files made (ideas.csv, ideas.json, comments.csv) to those named.
    """
    config = views.site.config
    kept = Kept() if kept is None else kept
    names = [name for fmt in dict.fromkeys(formats) for name in (("ideas.json",) if fmt == "json" else ("ideas.csv", "comments.csv"))]
    names = [name for name in names if only is None or name in only]
    files: dict[str, Iterator[str]] = {}
    if any(name.startswith("ideas.") for name in names):
        keyed_ideas = chosen.ideas if chosen else [(idea_key(config, i, made_with), i) for i in select_ideas(views, challenge)]
        ideas = kept.finish(keyed_ideas, functools.partial(_finish_idea, config))
        if "ideas.json" in names:
            files["ideas.json"] = json_pieces(config, [item for _, item in ideas])
        if "ideas.csv" in names:
            files["ideas.csv"] = csv_pieces([row for row, _ in ideas], IDEA_FIELDS)
    if "comments.csv" in names:
        keyed_comments = chosen.comments if chosen else [(comment_key(config, c, made_with), c) for c in select_comments(views, challenge)]
        comments = kept.finish(keyed_comments, functools.partial(_finish_comment, config))
        files["comments.csv"] = csv_pieces([row for row, _ in comments], COMMENT_FIELDS)
    return dict(sorted(files.items(), key=lambda item: names.index(item[0])))


def write_files(
    views: SiteViews,
    output: Path,
    formats: Iterable[Format],
    challenge: str | None = None,
    folder: str = "/",
    kept: Kept | None = None,
    made_with: str = "",
    chosen: Selection | None = None,
    only: Collection[str] | None = None,
) -> list[Path]:
    """Write the files of each format (only those named in `only`, when given) into output/folder; return their paths."""
    files = render_files(views, formats, challenge, kept, made_with, chosen, only)
    return [write_output_pieces(output, f"{folder.rstrip('/')}/{name}", pieces) for name, pieces in files.items()]
