"""Load stage: read site.yml and every content file into validated models.

Problems are collected, never raised one at a time: `load_site` returns the
content and the full list of problems, so a person sees everything at once.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from . import frontmatter
from .config import SiteConfig
from .contentcache import ContentCache, FileState, Parsed, TextStore
from .contentfiles import CONTENT_LAYOUT, ContentFiles, folder_files
from .errors import Problem, display_path
from .markdown import render_all
from .parallel import parallel_map
from .schema import KIND_MODELS, REFERENCE_PATTERN, SLUG_PATTERN, Challenge, Comment, Event, Idea, Page, Topic, Update, deprecations

M = TypeVar("M", bound=BaseModel)

CONTENT_DIRS: dict[str, tuple[str, type[BaseModel], int]] = {
    kind: (folder, KIND_MODELS[kind], depth) for kind, (folder, depth) in CONTENT_LAYOUT.items()
}
"""kind: (folder, model, depth of files below the folder), from `contentfiles.CONTENT_LAYOUT`."""

REQUIRED_PAGES = ("about", "moderation", "privacy", "accessibility", "terms")

DATE_HINT = "write dates as YYYY-MM-DD, for example 2026-11-25"
DATETIME_HINT = "write times as YYYY-MM-DD HH:MM, for example 2026-12-03 14:00 (Europe/London)"


@dataclass(frozen=True, eq=False)
class Entry(Generic[M]):
    """One content file: its validated front matter, Markdown body and where it came from.

    An entry loaded from the content cache comes without its body and HTML (`stored`):
    they are read from the cache's store the first time either is asked for, so a build
    that renders a few pages reads a few bodies (`contentcache.TextStore`).
    """

    kind: str
    slug: str
    path: str
    meta: M
    _body: str = field(repr=False)
    key_lines: dict[str, int] | PackedLines = field(default_factory=dict)
    """Each front matter key's line in the file (`line_of`); packed (`PackedLines`) in an entry from the content cache."""
    folder: str = ""
    """For ideas, topics and comments: the folder the file sits in."""
    digest: str = ""
    """Hash of the file's text: what changed, for incremental builds."""
    _html: str = field(default="", repr=False)
    notices: tuple[Problem, ...] = ()
    """Deprecated values the file still uses: it loads, and `consult check` asks for them to be changed."""
    stored: TextStore | None = field(default=None, repr=False)
    """Where the body and HTML are kept until asked for (an entry from the content cache); None once they are here."""

    @property
    def body(self) -> str:
        """The Markdown below the front matter."""
        if self.stored is not None:
            self._fetch(self.stored)
        return self._body

    @property
    def html(self) -> str:
        """The body rendered to safe HTML by the build's Markdown stage (kept in the content cache); empty until then."""
        if self.stored is not None:
            self._fetch(self.stored)
        return self._html

    @property
    def rendered(self) -> bool:
        """Whether the Markdown stage has rendered the body (an entry from the cache was rendered before it was kept)."""
        return self.stored is not None or bool(self._html)

    def set_html(self, html: str) -> None:
        """Keep the rendered body: entries are frozen, and this derived field is filled once, by the Markdown stage."""
        object.__setattr__(self, "_html", html)

    def _fetch(self, store: TextStore) -> None:
        body, html = store.texts(self.digest, self.path)
        object.__setattr__(self, "_body", body)
        object.__setattr__(self, "_html", html)
        object.__setattr__(self, "stored", None)

    def __eq__(self, other: object) -> bool:
        """Equal files' entries: the same kind, slug, path, front matter, body and folder."""
        if not isinstance(other, Entry):
            return NotImplemented
        return self._compared() == other._compared()

    def _compared(self) -> tuple[Any, ...]:
        return self.kind, self.slug, self.path, self.meta, self.folder, self.body

    __hash__ = None  # type: ignore[assignment]  # equal by value, and mutable front matter

    def line_of(self, key: str) -> int:
        lines = self.key_lines
        if isinstance(lines, dict):
            return lines.get(key, 1)
        return lines.lines[lines.keys.index(key)] if key in lines.keys else 1

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled flat, its front matter as its class and its fields' values, the key lines packed, and the names
        of both shared with the entries pickled with it: unpickling an entry and its front matter made four dicts and
        a set, now two dicts, a set and a tuple (the content cache's 40,189 records at 10,000 ideas: 0.165 s to
        0.142 s, alternating in one process)."""
        return self.flat(self._body, self._html, self.stored)

    def flat(self, body: str, html: str, stored: Any) -> tuple[Any, tuple[Any, ...]]:
        """`__reduce__`'s value, with this body, HTML and store in place of the entry's own (the content cache pickles
        a rendered entry without its texts, which it keeps apart: `contentcache.KeptApart`)."""
        meta: Any = self.meta
        lines = self.key_lines
        packed = PackedLines(shared_names(tuple(lines)), tuple(lines.values())) if isinstance(lines, dict) else lines
        return _unpickled_entry, (
            self.kind,
            self.slug,
            self.path,
            type(meta),
            shared_names(tuple(meta.__dict__)),
            tuple(meta.__dict__.values()),
            shared_names(tuple(sorted(meta.__pydantic_fields_set__))),
            meta.__pydantic_extra__,
            meta.__pydantic_private__,
            packed,
            self.folder,
            self.digest,
            body,
            html,
            self.notices,
            stored,
        )


class PackedLines(NamedTuple):
    """Front matter keys and their lines, as two tuples: the tuple of keys is shared by the entries with the same keys."""

    keys: tuple[str, ...]
    lines: tuple[int, ...]


_SHARED_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}


def shared_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple object for each sequence of names (a front matter's fields, say), so a pickle spells it once and
    points back to it after (a few dozen at most: one per kind and set of keys used)."""
    return _SHARED_NAMES.setdefault(names, names)


def _unpickled_entry(
    kind: str,
    slug: str,
    path: str,
    model: type[BaseModel],
    names: tuple[str, ...],
    values: tuple[Any, ...],
    fields_set: tuple[str, ...],
    extra: dict[str, Any] | None,
    private: dict[str, Any] | None,
    key_lines: PackedLines,
    folder: str,
    digest: str,
    body: str,
    html: str,
    notices: tuple[Problem, ...],
    stored: TextStore | None,
) -> Entry[Any]:
    """An entry as `Entry.__reduce__` pickled it, its front matter restored as pydantic's `BaseModel.__setstate__` does.

    Both are given their `__dict__` whole, as unpickling a frozen dataclass and a model did: through `Entry()` and
    `__setstate__`, the flat records took longer to unpickle than before."""
    meta = model.__new__(model)
    _set(meta, "__dict__", dict(zip(names, values)))
    _set(meta, "__pydantic_fields_set__", set(fields_set))
    _set(meta, "__pydantic_extra__", extra)
    _set(meta, "__pydantic_private__", private)
    entry: Entry[Any] = Entry.__new__(Entry)
    _set(
        entry,
        "__dict__",
        {
            "kind": kind,
            "slug": slug,
            "path": path,
            "meta": meta,
            "_body": body,
            "key_lines": key_lines,
            "folder": folder,
            "digest": digest,
            "_html": html,
            "notices": notices,
            "stored": stored,
        },
    )
    return entry


_set = object.__setattr__


@dataclass
class Site:
    root: Path
    config: SiteConfig
    challenges: dict[str, Entry[Challenge]] = field(default_factory=dict)
    ideas: dict[str, Entry[Idea]] = field(default_factory=dict)
    events: dict[str, Entry[Event]] = field(default_factory=dict)
    pages: dict[str, Entry[Page]] = field(default_factory=dict)
    topics: dict[str, Entry[Topic]] = field(default_factory=dict)
    comments: dict[str, Entry[Comment]] = field(default_factory=dict)
    updates: dict[str, Entry[Update]] = field(default_factory=dict)

    def collection(self, kind: str) -> dict[str, Entry[Any]]:
        return getattr(
            self,
            {
                "challenge": "challenges",
                "idea": "ideas",
                "event": "events",
                "page": "pages",
                "topic": "topics",
                "comment": "comments",
                "update": "updates",
            }[kind],
        )

    def notices(self) -> list[Problem]:
        """Every deprecated value still in use, in file order: the content loads, but should be updated."""
        return sorted(notice for kind in CONTENT_DIRS for entry in self.collection(kind).values() for notice in entry.notices)


def nearest(word: str, options: list[str] | tuple[str, ...]) -> str | None:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return match[0] if match else None


def _found(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def pydantic_problems(exc: ValidationError, model: type[BaseModel], path: str, key_lines: dict[str, int]) -> list[Problem]:
    """Turn pydantic's errors into one Problem per error, with line, key and hint."""
    problems = []
    known = list(model.model_fields)
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        key = ".".join(loc) or "front matter"
        line = key_lines.get(loc[0], 1) if loc else 1
        kind = err["type"]
        hint = ""
        if kind == "extra_forbidden":
            close = nearest(loc[-1], known)
            message = "unknown key"
            hint = f"did you mean '{close}'?" if close else f"known keys: {', '.join(known)}"
        elif kind == "missing":
            message = "required key is missing"
            field_info = model.model_fields.get(loc[0]) if loc else None
            hint = f"add '{loc[0]}:' ({field_info.description})" if field_info and field_info.description else ""
        else:
            message = f"{err['msg'].removeprefix('Value error, ')} (found {_found(err.get('input'))})"
            if kind.startswith(("date", "datetime")):
                annotation = str(model.model_fields[loc[0]].annotation) if loc and loc[0] in model.model_fields else ""
                hint = DATETIME_HINT if "datetime" in annotation else DATE_HINT
            elif kind == "string_pattern_mismatch" and loc and loc[-1] in ("challenge", "tags") or (len(loc) > 1 and loc[0] == "tags"):
                hint = "use lower-case words joined by hyphens, e.g. getting-the-basics-right"
            elif kind == "string_pattern_mismatch" and loc and loc[-1] in ("reference", "reply_to"):
                hint = "references look like TH-7QK2M: TH- and five of 0-9 A-Z without I, L, O, U"
        problems.append(Problem(path, line, key, message, hint))
    return problems


def render_markdown(site: Site) -> int:
    """Render the body of every entry not yet rendered (the cache keeps earlier ones); return how many were."""
    pending = [entry for kind in CONTENT_DIRS for entry in site.collection(kind).values() if not entry.rendered]
    for entry, html in zip(pending, render_all([entry.body for entry in pending])):
        entry.set_html(html)
    return len(pending)


def load_config(root: Path) -> tuple[SiteConfig, list[Problem]]:
    path = root / "site.yml"
    if not path.exists():
        return SiteConfig(), [Problem("site.yml", 1, "site.yml", "the settings file is missing", "create site.yml at the top of the repository")]
    try:
        data, key_lines = frontmatter.load_yaml_mapping(path.read_text(encoding="utf-8"))
    except frontmatter.FrontMatterError as exc:
        return SiteConfig(), [Problem("site.yml", exc.line, "site.yml", str(exc))]
    try:
        return SiteConfig.model_validate(data), []
    except ValidationError as exc:
        return SiteConfig(), pydantic_problems(exc, SiteConfig, "site.yml", key_lines)


def load_entry(root: Path, kind: str, path: Path, model: type[M]) -> tuple[Entry[M] | None, list[Problem]]:
    rel = display_path(path, root)
    slug = path.stem
    if kind == "comment":
        # Comments are named by their reference: content/comments/<target>/TH-7QK2M.md
        if not re.match(REFERENCE_PATTERN, slug):
            return None, [
                Problem(
                    rel,
                    1,
                    "file name",
                    f"'{path.name}' is not a comment file name (expected the comment's reference, e.g. TH-7QK2M.md, found {slug!r})",
                    "name the file after the comment's reference",
                )
            ]
    elif not re.match(SLUG_PATTERN, slug):
        return None, [
            Problem(
                rel,
                1,
                "file name",
                f"'{path.name}' is not a valid slug (expected lower-case letters, digits and single hyphens, found {slug!r})",
                "rename the file, e.g. my-idea.md",
            )
        ]
    try:
        text = path.read_text(encoding="utf-8")
        doc = frontmatter.parse(text)
    except UnicodeDecodeError:
        return None, [Problem(rel, 1, "file", "not valid UTF-8 text", "save the file as UTF-8")]
    except frontmatter.FrontMatterError as exc:
        return None, [Problem(rel, exc.line, "front matter", str(exc))]
    try:
        meta = model.model_validate(doc.data)
    except ValidationError as exc:
        return None, pydantic_problems(exc, model, rel, doc.key_lines)
    if kind == "comment" and getattr(meta, "reference", slug) != slug:
        return None, [
            Problem(
                rel,
                doc.key_lines.get("reference", 1),
                "reference",
                f"the file is named {slug} but its reference is {getattr(meta, 'reference', '')}",
                "the file name and the reference must match",
            )
        ]
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    notices = tuple(Problem(rel, doc.key_lines.get(key, 1), key, message, hint) for key, message, hint in deprecations(kind, doc.data))
    return Entry(kind, slug, rel, meta, doc.body, doc.key_lines, path.parent.name, digest, notices=notices), []


def _parse(root: Path, item: tuple[str, Path]) -> tuple[Entry[Any] | None, list[Problem]]:
    kind, path = item
    return load_entry(root, kind, path, CONTENT_DIRS[kind][1])


def load_site(
    root: Path, cache: ContentCache | None = None, states: Mapping[str, tuple[int, int]] | None = None, files: ContentFiles | None = None
) -> tuple[Site, list[Problem]]:
    """Read everything under root; return the site and every problem found.

    `states` holds the files' (size, modification time) when the build's fingerprint looked at them already,
    `files` the content files when they were listed already (`contentfiles.content_files`).

    Files whose bytes the cache already holds are not parsed again (see
    `contentcache`); the others are parsed over both cores when there are many.
    """
    config, problems = load_config(root)
    site = Site(root=root, config=config)
    # each kind's files: their keys, paths, and what the cache holds of them (looked up in one go)
    found: list[tuple[str, list[str], Sequence[str], Sequence[tuple[Parsed | None, FileState | None]]]] = []
    for kind, (folder, _model, depth) in CONTENT_DIRS.items():
        base = os.path.join(root, folder)
        paths = files[kind] if files is not None else folder_files(base, depth)
        start = len(base)
        # a key is relative to root, the same whether root was given relative or absolute
        keys = [folder + path[start:].replace(os.sep, "/") for path in paths]
        looked: Sequence[tuple[Parsed | None, FileState | None]] = cache.get_many(keys, paths, states) if cache else [(None, None)] * len(keys)
        found.append((kind, keys, paths, looked))
    missing = [
        (kind, Path(path)) for kind, _keys, paths, looked in found for path, (cached, _state) in zip(paths, looked, strict=True) if cached is None
    ]
    parsed = iter(parallel_map(functools.partial(_parse, root), missing))
    for kind, keys, _paths, looked in found:
        collection = site.collection(kind)
        for key, (cached, state) in zip(keys, looked, strict=True):
            if cached is None:
                cached = next(parsed)
                if cache and state:
                    cache.put(key, state, cached)
            entry, entry_problems = cached
            if entry_problems:
                problems.extend(entry_problems)
            if entry is None:
                continue
            if entry.slug in collection:
                problems.append(
                    Problem(
                        entry.path,
                        1,
                        "file name",
                        f"the slug '{entry.slug}' is already used by {collection[entry.slug].path}",
                        "give one of them another file name",
                    )
                )
                continue
            collection[entry.slug] = entry
    if cache:
        cache.prune([key for _kind, keys, _paths, _looked in found for key in keys])
    site.challenges = dict(sorted(site.challenges.items(), key=lambda item: (item[1].meta.order, item[0])))
    return site, problems
