"""What an editor reads on a pull request: title, body and labels, for one submission or a batch.

Only what is in a Proposal reaches here, and a Proposal never holds an email
or an address. The body ends with a hidden marker naming the references and
their files, so the forge can tell, after a merge, which submissions of a
batch were published and which an editor removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from .base import Flag, Proposal

MARKER = re.compile(r"<!-- consult:submissions (\{.*?\}) -->")
LABEL_COLOURS = {
    "submission": ("005eb8", "A submission from the public form"),
    "batch": ("41b6e6", "Several submissions in one pull request"),
    "possible-personal-data": ("d5281b", "May contain personal data: check before merging"),
    "offensive-language": ("d5281b", "May break the moderation policy's tone rules"),
    "possible-duplicate": ("ffb81c", "Close to an idea already published"),
}
DEFAULT_COLOUR = ("768692", "")
BODY_BUDGET = 45_000
"""Characters of per-submission detail in a batch body, leaving room for the rest under GitHub's 65,536."""


@dataclass(frozen=True)
class Change:
    """One pull request to open: a branch with one commit adding files."""

    branch: str
    title: str
    body: str
    message: str
    labels: tuple[str, ...]
    files: dict[str, str]
    references: dict[str, str]
    """reference → path of its file."""


def labels_for(proposals: Sequence[Proposal]) -> tuple[str, ...]:
    names = ["submission"]
    for p in proposals:
        names.append(p.kind)
        if p.challenge:
            names.append(f"challenge:{p.challenge}")
        names.extend(flag.code for flag in p.flags)
    if len(proposals) > 1:
        names.append("batch")
    return tuple(dict.fromkeys(names))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip() or "—"


def _table(p: Proposal) -> str:
    rows = ["| | |", "|---|---|", f"| Reference | `{p.reference}` |", f"| File | `{p.path}` |"]
    rows += [f"| {_cell(k)} | {_cell(v)} |" for k, v in p.summary_rows]
    return "\n".join(rows)


def _flag_lines(flags: Sequence[Flag], site_url: str) -> str:
    if not flags:
        return "No automated flags."
    lines = []
    for flag in flags:
        line = f"- **{flag.code}**: {_cell(flag.detail)}"
        if flag.links:
            line += " (" + ", ".join(f"[{_cell(t)}]({site_url}{path})" for t, path in flag.links) + ")"
        lines.append(line)
    return "\n".join(lines)


CHECKLIST = (
    "Personal data removed (names of patients or colleagues, contact details, NHS numbers)",
    "Tone within the moderation policy",
    "Summary written",
    "Tags set",
    "Duplicates merged into one idea (supporters counted)",
)
"""The editor's checklist, in the pull request body and in `consult moderate`'s comment (handbook/docs/editors/review.md)."""


def checklist(policy_url: str, review_url: str = "", ticked: AbstractSet[str] = frozenset()) -> str:
    """The checklist section: a heading with its links, then one box per item (those in `ticked` ticked)."""
    links = ([f"[how to review]({review_url})"] if review_url else []) + [f"[moderation policy]({policy_url})"]
    boxes = [f"- [{'x' if item in ticked else ' '}] {item}" for item in CHECKLIST]
    return "\n".join([f"### Editor's checklist ({', '.join(links)})", *boxes])


def _marker(references: dict[str, str]) -> str:
    return f"<!-- consult:submissions {json.dumps(references, sort_keys=True)} -->"


def single_change(p: Proposal, base_url: str, policy_url: str) -> Change:
    body = "\n\n".join(
        [
            f"A {p.kind} submitted through the site. Merging publishes it; closing rejects it.",
            _table(p),
            "### Automated flags\n" + _flag_lines(p.flags, base_url),
            checklist(policy_url),
            _marker({p.reference: p.path}),
        ]
    )
    return Change(p.branch, p.title, body, f"Add {p.kind} {p.reference}: {p.title}", labels_for([p]), {p.path: p.content}, {p.reference: p.path})


def batch_branch(challenge: str, proposals: Sequence[Proposal]) -> str:
    """Named after the oldest submission, so a retry with the same backlog finds the same branch."""
    return f"submissions/batch-{challenge}-{proposals[0].reference}"


def batch_change(challenge: str, proposals: Sequence[Proposal], base_url: str, policy_url: str) -> Change:
    sections = [
        (
            f"{len(proposals)} submissions to **{challenge}**, batched because many arrived at once. "
            "Each is its own file; merging publishes every file still in the pull request."
        ),
        (
            "**To reject one submission**, delete its file in this pull request (Files changed → ⋯ → "
            "Delete file, or `git rm <file>` on the branch) and merge the rest; closing the pull request "
            "rejects them all."
        ),
        checklist(policy_url),
    ]
    items = [f"### {_cell(p.title)}\n\n{_table(p)}\n\n{_flag_lines(p.flags, base_url)}" for p in proposals]
    if sum(map(len, items)) > BODY_BUDGET:  # GitHub caps a body at 65,536 characters: one line each
        items = [_compact(p) for p in proposals]
    refs = {p.reference: p.path for p in proposals}
    sections += [*items, _marker(refs)]
    return Change(
        batch_branch(challenge, proposals),
        f"Batch: {len(proposals)} submissions to {challenge}",
        "\n\n".join(sections),
        f"Add {len(proposals)} submissions to {challenge}",
        labels_for(proposals),
        {p.path: p.content for p in proposals},
        refs,
    )


def _compact(p: Proposal) -> str:
    flags = ", ".join(f.code for f in p.flags) or "no flags"
    return f"- `{p.reference}` {_cell(p.title)}: `{p.path}` ({flags})"


def references_in(body: str | None) -> dict[str, str]:
    """reference → path, from the marker in a pull request body (empty if none)."""
    match = MARKER.search(body or "")
    return json.loads(match.group(1)) if match else {}
