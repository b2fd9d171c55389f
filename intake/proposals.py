"""From a stored submission to a Proposal: the file's path and content, a title, rows and flags.

File names and slugs are generated (from the title, never a path from the
input); front matter is written with yaml.safe_dump and checked against the
content schema before anything is proposed. No contact details go in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Container, Iterable, Sequence
from typing import Any

from generator import frontmatter
from generator.schema import LONDON, Comment, Idea, Topic, slugify

from .catalogue import Catalogue
from .forge.base import Flag, Proposal
from .moderation import WaitingIdea, flags_for
from .store import Record


class PendingPaths:
    """The paths of the proposals not yet decided, with the slugs they use in each folder (kept up to date as paths are
    added), so a new proposal looks its slug up instead of going through every path."""

    def __init__(self, paths: Iterable[str] = ()):
        self.paths: set[str] = set()
        self.slugs: dict[str, set[str]] = {}
        """folder under content/ (ideas, topics) → slugs used there"""
        for path in paths:
            self.add(path)

    def add(self, path: str) -> None:
        self.paths.add(path)
        parts = path.split("/")
        if len(parts) >= 3 and parts[0] == "content":
            self.slugs.setdefault(parts[1], set()).add(parts[-1].removesuffix(".md"))

    def __contains__(self, path: object) -> bool:
        return path in self.paths


class TakenSlugs:
    """The slugs of one kind already used: by published files, or by the paths of proposals not yet decided.

    Looked up, never copied, so a proposal costs the same however many ideas are published or waiting."""

    def __init__(self, published: Container[str], pending: PendingPaths, folder: str):
        self.published, self.pending = published, pending.slugs.get(folder, set())

    def __contains__(self, slug: object) -> bool:
        return slug in self.published or slug in self.pending


def unique_slug(title: str, reference: str, taken: Container[str]) -> str:
    """The title's slug, or the slug with the reference's code when that is already used."""
    slug = slugify(title, max_length=60)
    if slug not in taken:
        return slug
    return f"{slugify(title, max_length=53)}-{reference[3:].lower()}"


def _credit(fields: dict[str, str]) -> str | None:
    return fields.get("name") or None


def idea_file(record: Record, fields: dict[str, str], submitted: dt.date, taken: Container[str]) -> tuple[str, str]:
    slug = unique_slug(fields["title"], record.reference, taken)
    data: dict[str, Any] = {
        "title": fields["title"],
        "challenge": fields["challenge"],
        "summary": "",
        "submitted": submitted,
        "reference": record.reference,
    }
    for key, value in (("attribution", _credit(fields)), ("role", fields.get("role")), ("region", fields.get("region"))):
        if value:
            data[key] = value
    data.update({"tags": [], "status": "waiting"})
    Idea.model_validate(data)
    return f"content/ideas/{fields['challenge']}/{slug}.md", frontmatter.dump(data, fields["idea"])


def topic_file(record: Record, fields: dict[str, str], submitted: dt.date, taken: Container[str]) -> tuple[str, str]:
    slug = unique_slug(fields["title"], record.reference, taken)
    data: dict[str, Any] = {"title": fields["title"], "challenge": fields["challenge"], "submitted": submitted, "reference": record.reference}
    if _credit(fields):
        data["attribution"] = _credit(fields)
    Topic.model_validate(data)
    return f"content/topics/{fields['challenge']}/{slug}.md", frontmatter.dump(data, fields["post"])


def comment_file(record: Record, fields: dict[str, str], submitted: dt.date) -> tuple[str, str]:
    data: dict[str, Any] = {"target": fields["target"], "submitted": submitted, "reference": record.reference}
    if _credit(fields):
        data["attribution"] = _credit(fields)
    Comment.model_validate(data)
    folder = fields["target"].partition(":")[2]
    return f"content/comments/{folder}/{record.reference}.md", frontmatter.dump(data, fields["comment"])


def build_proposal(record: Record, catalogue: Catalogue, pending_paths: PendingPaths | set[str], waiting: Sequence[WaitingIdea] = ()) -> Proposal:
    """Everything an editor needs for one submission (paths already used are avoided).

    `waiting`: ideas not yet decided, compared for duplicates (the submission itself is left out here).
    """
    fields = record.fields or {}
    submitted = record.received_at.astimezone(LONDON).date()
    credit = _credit(fields) or "anonymous"
    if record.kind == "comment":
        path, content = comment_file(record, fields, submitted)
        challenge = catalogue.target_challenge(fields["target"])
        title = f"Comment on: {catalogue.target_title(fields['target'])}"
        rows: tuple[tuple[str, str], ...] = (("Comment on", fields["target"]), ("Credit", credit))
    else:
        folder = "ideas" if record.kind == "idea" else "topics"
        pending = pending_paths if isinstance(pending_paths, PendingPaths) else PendingPaths(pending_paths)
        taken = TakenSlugs(catalogue.slugs.get(record.kind, set()), pending, folder)
        make = idea_file if record.kind == "idea" else topic_file
        path, content = make(record, fields, submitted, taken)
        challenge = fields["challenge"]
        title = f"{'Idea' if record.kind == 'idea' else 'New topic'}: {fields['title']}"
        rows = (("Challenge", catalogue.challenges[challenge].title if challenge in catalogue.challenges else challenge), ("Title", fields["title"]))
        if record.kind == "idea":
            rows += (("Role", fields.get("role") or "not given"), ("Region", fields.get("region") or "not given"))
        rows += (("Credit", credit),)
    flags = flags_for(record.kind, fields, catalogue, [w for w in waiting if w.reference != record.reference])
    return Proposal(record.reference, record.kind, path, content, title, challenge, rows, flags)


def proposal_to_json(proposal: Proposal) -> dict[str, Any]:
    return dataclasses.asdict(proposal)


def proposal_from_json(data: dict[str, Any]) -> Proposal:
    flags = tuple(Flag(f["code"], f["detail"], tuple(tuple(link) for link in f.get("links", ()))) for f in data.get("flags", ()))
    rows = tuple((str(label), str(value)) for label, value in data.get("summary_rows", ()))
    return Proposal(data["reference"], data["kind"], data["path"], data["content"], data["title"], data.get("challenge"), rows, flags)


def commit_message(proposal: Proposal) -> str:
    """The commit (or pull request) text: title, reference, rows and flags. No contact details."""
    lines = [proposal.title.replace("\n", " ")[:150], "", f"Reference: {proposal.reference}", f"Kind: {proposal.kind}"]
    lines += [f"{name}: {value}" for name, value in proposal.summary_rows]
    lines.append("")
    if proposal.flags:
        lines.append("Moderation flags:")
        for flag in proposal.flags:
            lines.append(f"- {flag.code}: {flag.detail}")
            lines += [f"  - {title}: {link}" for title, link in flag.links]
    else:
        lines.append("Moderation flags: none")
    return "\n".join(lines) + "\n"
