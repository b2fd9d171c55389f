"""Open data: the published ideas and comments as CSV and JSON.

Shared by the site build (`/data/`) and `consult export`, so analysts get
exactly the files the site publishes. Only public, moderated content goes
in: no credit names and never a contact detail; anything that looks like an
email address in the text is replaced.

Each record is finished once (its CSV row and its JSON object) under a key
made of exactly what the record shows. A build keeps where each record sits in
the files it wrote (`Placed`), so after one edit the files are made of the
last ones' records copied as they are, with only the edited entry's record
made again (`write_group`).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import os
import pickle
import re
from array import array
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar

from .atomic import write_atomic, write_atomic_with
from .config import SiteConfig
from .hashing import size_and_mtime
from .markdown import plain_text
from .outputs import absolute_url
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


@dataclass(frozen=True)
class Frame:
    """A data file around its records: what comes before the first, between two, and after the last."""

    prefix: str
    separator: str = ""
    suffix: str = ""


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


def _threads(views: SiteViews) -> list[tuple[list[CommentView], str, str]]:
    """Each idea's and topic's comments (replies under them) with its challenge slug and page URL, idea by idea, then topic by topic."""
    threads = [(idea.comments, idea.entry.meta.challenge, idea.url) for idea in views.ideas.values()]
    threads += [(topic.comments, topic.entry.meta.challenge, topic.url) for topic in views.topics.values()]
    return threads


def comment_items(views: SiteViews, challenge: str | None = None) -> list[CommentItem]:
    """Every published comment as (comment, challenge slug, page URL), thread by thread (unsorted)."""
    return [(c, slug, url) for thread, slug, url in _threads(views) if challenge is None or slug == challenge for c in _flatten(thread)]


def comment_inputs(views: SiteViews) -> list[tuple[str, str, tuple[str, ...]]]:
    """What every comment record shows but the site's address and code (`comment_key`), thread by thread: its challenge
    and page, and each comment's file (its hash). Tells whether comments.csv would be made of the same records without
    a key made for each comment (0.7 s to 0.3 s at 50,000 ideas, 150,000 comments)."""
    inputs = []
    for thread, slug, url in _threads(views):
        if thread:
            digests = []
            for comment in thread:
                digests.append(comment.entry.digest)
                if comment.replies:
                    digests += map(_ENTRY_DIGEST, comment.replies)
            inputs.append((slug, url, tuple(digests)))
    return inputs


_ENTRY_DIGEST = attrgetter("entry.digest")


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


def csv_frame(fields: tuple[Field, ...]) -> Frame:
    """A CSV file around its finished rows (from `csv_row`): a byte order mark and the header row first."""
    return Frame(BOM + csv_row(f.name for f in fields))


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


def json_frame(config: SiteConfig, count: int) -> Frame:
    """ideas.json around its `count` ideas (each finished by `json_item`), with the licence and source alongside:
    with the ideas, what `inert_json` gives for the whole document."""
    document = {
        "title": f"Ideas published on {config.title}",
        "publisher": config.organisation.name,
        "licence": config.licence,
        "licence_url": config.licence_url,
        "source": absolute_url(config, "/data/"),
        "count": count,
        "fields": {f.name: f.description for f in IDEA_FIELDS},
    }
    head = inert_json(document).removesuffix("\n}\n")  # "ideas" is the last key: it goes where the document closed
    if not count:
        return Frame(f'{head},\n  "ideas": []\n}}\n')
    return Frame(f'{head},\n  "ideas": [\n', ",\n", "\n  ]\n}\n")


def to_json(config: SiteConfig, items: Sequence[str]) -> str:
    """The whole ideas.json, from its ideas finished by `json_item`."""
    frame = json_frame(config, len(items))
    return frame.prefix + frame.separator.join(items) + frame.suffix


Finished = tuple[str, str]
"""A record as it appears in the files: its CSV row and its `json_item` text ('' for a comment, which has no JSON file)."""
T = TypeVar("T")
PLACED_VERSION = 2
"""Stored with where the records were placed; a change of that layout here makes every record again once."""
COPY_CHUNK = 1 << 22
"""Bytes copied at a time where the kernel cannot copy between files itself (`os.copy_file_range`)."""
FLUSH_AT = 1 << 20
"""Made records' bytes held before they are written (a cold build makes tens of thousands of small ones)."""


def records_file(root: Path, group: str) -> Path:
    """Where a build keeps where each record of `group` ("ideas" or "comments") sits in the files it wrote
    (git-ignored, beside the content cache): the next build copies the records it finds there."""
    return root / ".consult" / "cache" / f"opendata-{group}.pickle"


FileStamp = tuple[int, int]
"""A written file's size and modification time (ns): the same file changed since has another. Not its inode, which a
restore in CI makes new (actions/cache's tar keeps the times): the publishing workflow's edit would make every record."""


@dataclass(frozen=True)
class Placed:
    """Where each record of a group sits in the files the last build wrote: its key (everything the record shows), and
    for each file the byte span of its part (the CSV row, the JSON item).

    An edit makes the records whose keys are new and copies every other one from the file as it was, in runs of
    records that stay next to each other (the kernel copies them, `os.copy_file_range`): no record is read into this
    process, where keeping every finished record and joining them took 1.2 s to load at 50,000 ideas (173 MB).
    The spans are used only while each file still has the size and modification time it was written with.
    """

    keys: dict[Key, int] = field(default_factory=dict)
    """Each record's place in the files (records are in the same order in each file of a group)."""
    spans: dict[str, array[int]] = field(default_factory=dict)
    """For each file name, every record's start and end offsets, one after the other."""
    files: dict[str, FileStamp] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, folder: Path) -> Placed:
        """What was kept at path, when each file it names is in folder as it was written; nothing otherwise (every record is made)."""
        try:
            version, keys, spans, files = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError):
            return cls()
        if version != PLACED_VERSION or not (isinstance(keys, list) and isinstance(spans, dict) and isinstance(files, dict)):
            return cls()
        if set(spans) != set(files) or any(not isinstance(s, array) or len(s) != 2 * len(keys) for s in spans.values()):
            return cls()
        try:
            if any(size_and_mtime(folder / name) != tuple(stamp) for name, stamp in files.items()):
                return cls()
        except OSError:
            return cls()
        return cls(dict(zip(keys, range(len(keys)))), spans, files)

    def save(self, path: Path) -> None:
        keys = sorted(self.keys, key=self.keys.__getitem__)
        write_atomic(path, pickle.dumps((PLACED_VERSION, keys, self.spans, self.files), protocol=pickle.HIGHEST_PROTOCOL))


class _Spliced:
    """A file written from made records' bytes and spans copied from the file it replaces (`old`, a descriptor)."""

    def __init__(self, handle: BinaryIO, old: int | None) -> None:
        self.handle, self.old = handle, old
        self.at = 0
        """Bytes of the new file so far."""
        self.pending: list[bytes] = []
        self.pending_size = 0

    def add(self, data: bytes) -> None:
        self.pending.append(data)
        self.pending_size += len(data)
        self.at += len(data)
        if self.pending_size >= FLUSH_AT:
            self._flush()

    def copy(self, start: int, end: int) -> None:
        """The old file's bytes start:end, copied by the kernel (through this process where it cannot)."""
        self._flush()
        if self.old is None:
            raise ValueError("a record was to be copied with no file to copy it from")
        out = self.handle.fileno()
        self.at += end - start
        while start < end:
            try:
                copied = os.copy_file_range(self.old, out, end - start, start)
            except OSError:  # a file system the kernel cannot copy within
                copied = os.write(out, os.pread(self.old, min(end - start, COPY_CHUNK), start))
            if copied <= 0:
                raise OSError(f"the last build's data file ended at byte {start}, before {end}")
            start += copied

    def close(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.handle.write(b"".join(self.pending))
            self.pending, self.pending_size = [], 0
        self.handle.flush()  # before the kernel copies a span behind the handle's buffer


Run = tuple[int, int, int]
"""(first record, its place in the last files or -1 when it is made now, how many records): records whose places follow on."""


def _runs(places: Sequence[int]) -> list[Run]:
    """The records in runs (`Run`): each made record alone, each run of records copied next to each other there too."""
    runs: list[Run] = []
    for n, place in enumerate(places):
        if place >= 0 and runs:
            first, at, count = runs[-1]
            if at >= 0 and place == at + count:
                runs[-1] = (first, at, count + 1)
                continue
        runs.append((n, place, 1))
    return runs


def _open_all(folder: Path, names: Iterable[str]) -> dict[str, int] | None:
    """A descriptor of each named file in folder, open for reading; None (and none left open) when one cannot be opened."""
    opened: dict[str, int] = {}
    try:
        for name in names:
            opened[name] = os.open(folder / name, os.O_RDONLY)
    except OSError:
        for descriptor in opened.values():
            os.close(descriptor)
        return None
    return opened


def _splice(
    handle: BinaryIO,
    frame: Frame,
    part: int,
    runs: Sequence[Run],
    made: Mapping[int, Finished],
    old: int | None,
    old_spans: array[int],
    written: array[int],
) -> None:
    """One file of a group, run by run (`_runs`): a run copied from old as one span (the separators between its records
    were written with the same frame: its records' keys hold the code that wrote it), a made record's `part` added.
    Where each record went is set in `written`."""
    out = _Spliced(handle, old)
    separator = frame.separator.encode("utf-8")
    out.add(frame.prefix.encode("utf-8"))
    for first, place, count in runs:
        if first and separator:
            out.add(separator)
        if place < 0:
            written[2 * first] = out.at
            out.add(made[first][part].encode("utf-8"))
            written[2 * first + 1] = out.at
            continue
        start, end = old_spans[2 * place], old_spans[2 * (place + count) - 1]
        shift = out.at - start
        written[2 * first : 2 * (first + count)] = array("q", [at + shift for at in old_spans[2 * place : 2 * (place + count)]])
        out.copy(start, end)
    out.add(frame.suffix.encode("utf-8"))
    out.close()


def write_group(
    folder: Path, files: Mapping[str, tuple[int, Frame]], items: Sequence[tuple[Key, T]], make: Callable[[T], Finished], previous: Placed
) -> tuple[Placed, int]:
    """Write each file (name → which part of a `Finished` record it holds, and its `Frame`) into folder: the records of
    `items` in order, each copied from where `previous` placed it or made now (over both cores when there are many).
    Where the records were placed, and how many were made."""
    old = _open_all(folder, files) if previous.keys and set(previous.spans) >= set(files) else None
    if old is None:
        previous = Placed()
    try:
        places = [previous.keys.get(key, -1) for key, _ in items]
        missing = [n for n, place in enumerate(places) if place < 0]
        made = dict(zip(missing, parallel_map(make, [items[n][1] for n in missing]), strict=True))
        runs = _runs(places)
        spans: dict[str, array[int]] = {}
        stamps: dict[str, FileStamp] = {}
        for name, (part, frame) in files.items():
            written = array("q", bytes(16 * len(items)))
            old_file, old_spans = (old[name], previous.spans[name]) if old is not None else (None, array("q"))
            write = functools.partial(_splice, frame=frame, part=part, runs=runs, made=made, old=old_file, old_spans=old_spans, written=written)
            path = write_atomic_with(folder / name, write)
            spans[name], stamps[name] = written, size_and_mtime(path)
    finally:
        for descriptor in (old or {}).values():
            os.close(descriptor)
    return Placed({key: n for n, (key, _) in enumerate(items)}, spans, stamps), len(missing)


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


GROUPS: dict[str, tuple[str, ...]] = {"ideas": ("ideas.csv", "ideas.json"), "comments": ("comments.csv",)}
"""The data files by the records they are made of: each group is written, and its records placed, on its own."""


def group_files(config: SiteConfig, group: str, count: int) -> dict[str, tuple[int, Frame]]:
    """The files of a group (`GROUPS`) with `count` records: which part of a `Finished` record each holds, and its frame."""
    if group == "ideas":
        return {"ideas.csv": (0, csv_frame(IDEA_FIELDS)), "ideas.json": (1, json_frame(config, count))}
    return {"comments.csv": (0, csv_frame(COMMENT_FIELDS))}


def write_ideas(
    views: SiteViews, folder: Path, keyed: Sequence[tuple[Key, IdeaView]], previous: Placed | None = None, only: Collection[str] | None = None
) -> tuple[Placed, int]:
    """ideas.csv and ideas.json (those named in `only`, when given) in folder, from the keyed ideas in order (`in_idea_order`)."""
    config = views.site.config
    files = {name: file for name, file in group_files(config, "ideas", len(keyed)).items() if only is None or name in only}
    return write_group(folder, files, keyed, functools.partial(_finish_idea, config), previous or Placed())


def write_comments(views: SiteViews, folder: Path, keyed: Sequence[tuple[Key, CommentItem]], previous: Placed | None = None) -> tuple[Placed, int]:
    """comments.csv in folder, from the keyed comments in order (`in_comment_order`)."""
    config = views.site.config
    return write_group(folder, group_files(config, "comments", len(keyed)), keyed, functools.partial(_finish_comment, config), previous or Placed())


def write_files(views: SiteViews, output: Path, formats: Iterable[Format], challenge: str | None = None) -> list[Path]:
    """Every record made and written into output, for the formats asked for (`consult export`: the files the site
    publishes, or a challenge's part of them); the files' paths."""
    config = views.site.config
    names = [name for fmt in dict.fromkeys(formats) for name in (("ideas.json",) if fmt == "json" else ("ideas.csv", "comments.csv"))]
    if any(name.startswith("ideas.") for name in names):
        keyed_ideas = [(idea_key(config, idea), idea) for idea in select_ideas(views, challenge)]
        write_ideas(views, output, keyed_ideas, only=names)
    if "comments.csv" in names:
        write_comments(views, output, [(comment_key(config, item), item) for item in select_comments(views, challenge)])
    return [output / name for name in names]
