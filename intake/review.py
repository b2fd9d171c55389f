"""Reviewing on the local forge: what is waiting (flags recomputed now), and an editor's edit checked like `consult check`.

The click commands live in cli.py; this module takes values and returns
values. Flags are computed afresh each time an editor looks, against the
published ideas AND the other submissions still waiting, so the same idea
sent twice is flagged whichever arrived first.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generator import frontmatter
from generator.errors import ConsultError, Problem
from generator.freshness import cache_file
from generator.loader import CONTENT_DIRS, ContentCache, load_entry, load_site
from generator.schema import SLUG_PATTERN
from generator.validate import validate

from .catalogue import Catalogue
from .forge.base import Flag
from .forge.local import LocalGitForge, OpenBranch
from .moderate import moderated_kind
from .moderation import WaitingIdea, flags_for

BODY_FIELD = {"idea": "idea", "topic": "post", "comment": "comment"}
FOLDER_KEY = {"idea": "challenge", "topic": "challenge", "comment": "target"}
"""The front-matter key that decides the folder a file lives in."""


@dataclass(frozen=True)
class Waiting:
    """One submission waiting for a decision, as its branch has it now."""

    reference: str
    kind: str
    path: str
    title: str
    challenge: str | None
    proposed_at: dt.datetime
    fields: dict[str, str]
    """The public fields the flags read: title, the body, the name it is credited to."""
    flags: tuple[Flag, ...] = ()


def proposed_path(forge: LocalGitForge, reference: str) -> str:
    """The one idea, topic or comment file a submission's branch proposes."""
    paths = forge.proposed_files(reference)
    if len(paths) != 1 or not moderated_kind(paths[0]):
        found = ", ".join(paths) or "none"
        raise ConsultError(
            f"submissions/{reference} should propose exactly one idea, topic or comment file, found {found}; check the branch out and fix it with git"
        )
    return paths[0]


def public_fields(kind: str, data: dict[str, Any], body: str) -> dict[str, str]:
    fields = {BODY_FIELD[kind]: body.strip(), "name": str(data.get("attribution") or "")}
    if kind != "comment":
        fields["title"] = str(data.get("title") or "")
    return fields


def read_waiting(branch: OpenBranch, text: str | None, catalogue: Catalogue) -> Waiting:
    """A waiting submission's file, parsed (a branch someone broke by hand is still listed, as best it can be)."""
    if len(branch.paths) != 1 or text is None:
        count = len(branch.paths)
        title = f"({count} file{'s' if count != 1 else ''} changed, not one idea, topic or comment: check the branch out and fix it with git)"
        return Waiting(branch.reference, "", ", ".join(branch.paths), title, None, branch.proposed_at, {})
    path = branch.paths[0]
    kind = moderated_kind(path) or ""
    try:
        doc = frontmatter.parse(text)
        data, body = doc.data, doc.body
    except frontmatter.FrontMatterError:
        data, body = {}, ""
    if kind == "comment":
        target = str(data.get("target") or "")
        title, challenge = f"Comment on: {catalogue.target_title(target)}", catalogue.target_challenge(target)
    else:
        title, challenge = str(data.get("title") or path), (str(data["challenge"]) if data.get("challenge") else None)
    return Waiting(branch.reference, kind, path, title, challenge, branch.proposed_at, public_fields(kind, data, body))


def with_flags(items: list[Waiting], catalogue: Catalogue) -> list[Waiting]:
    """Each submission with its flags computed now: duplicates against the published ideas and the other waiting ideas."""
    ideas = [WaitingIdea(w.reference, w.fields.get("title", ""), w.fields.get("idea", "")) for w in items if w.kind == "idea"]
    out = []
    for item in items:
        others = [idea for idea in ideas if idea.reference != item.reference]
        readable = item.kind in BODY_FIELD and item.fields.get(BODY_FIELD[item.kind])
        out.append(replace(item, flags=flags_for(item.kind, item.fields, catalogue, others) if readable else ()))
    return out


def waiting(forge: LocalGitForge, catalogue: Catalogue) -> list[Waiting]:
    """Every submission waiting for review, oldest first, with its flags computed now."""
    branches = forge.open_branches()
    files = [b.paths[0] if len(b.paths) == 1 and moderated_kind(b.paths[0]) else None for b in branches]
    texts = iter(forge.blobs([f"{b.tip}:{path}" for b, path in zip(branches, files) if path]))
    items = [read_waiting(b, next(texts) if path else None, catalogue) for b, path in zip(branches, files)]
    return with_flags(items, catalogue)


def age(since: dt.datetime, now: dt.datetime) -> str:
    """`12 minutes`, `5 hours`, `3 days`: how long a submission has waited."""
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "just now"


# -- an editor's edit ------------------------------------------------------------------------------


def path_for(kind: str, path: str, text: str) -> str:
    """Where the edited file belongs: in the folder its challenge (or, for a comment, its target) names."""
    try:
        data = frontmatter.parse(text).data
    except frontmatter.FrontMatterError:
        return path
    value = data.get(FOLDER_KEY[kind])
    folder = value.partition(":")[2] if kind == "comment" and isinstance(value, str) else value
    if not isinstance(folder, str) or not re.fullmatch(SLUG_PATTERN, folder):
        return path  # the check names what is wrong with the key
    top, _old, name = path.rsplit("/", 2)
    return f"{top}/{folder}/{name}"


def check_file(root: Path, path: str, text: str, replaces: str | None = None) -> list[Problem]:
    """The problems `consult check` would report for this file if it held `text` (other files' problems left out).

    `replaces`: the file's path before the edit moved it to another folder.
    """
    kind = moderated_kind(path)
    if kind is None:
        return [Problem(path, 1, "file", "not an idea, topic or comment file", "only those can be edited during review")]
    site, _others = load_site(root, ContentCache.load(cache_file(root)))  # `consult build`'s parsed files, read only
    with tempfile.TemporaryDirectory() as tmp:
        draft = Path(tmp) / path
        draft.parent.mkdir(parents=True)
        draft.write_text(text, encoding="utf-8")
        entry, problems = load_entry(Path(tmp), kind, draft, CONTENT_DIRS[kind][1])
    if entry is None:
        return problems
    collection = site.collection(kind)
    for slug, other in list(collection.items()):
        if other.path in (path, replaces):
            del collection[slug]  # the branch's own file, if the working tree has it checked out
    taken = collection.get(entry.slug)
    if taken is not None:
        return [Problem(path, 1, "file name", f"the slug '{entry.slug}' is already used by {taken.path}", "keep the file name the branch gave it")]
    collection[entry.slug] = entry
    return [p for p in validate(site) if p.path == path]


def set_summary_and_tags(text: str, summary: str | None, tags: list[str] | None) -> str:
    """The idea's file with its summary and/or tags replaced (front matter rewritten with yaml.safe_dump)."""
    doc = frontmatter.parse(text)
    data = dict(doc.data)
    if summary is not None:
        data["summary"] = summary
    if tags is not None:
        data["tags"] = tags
    return frontmatter.dump(data, doc.body)


def split_tags(text: str) -> list[str]:
    """`--tags "night-shifts, food"` → ["night-shifts", "food"]; an empty text clears them."""
    return [t.strip() for t in text.split(",") if t.strip()]
