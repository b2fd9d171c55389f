"""The forge interface: one small contract, two back ends (local git, GitHub).

The publisher worker hands a forge a `Proposal` (everything an editor needs,
never contact details) and later asks for its state. Every method is
idempotent: calling `propose` again after a crash or timeout finds what was
already made and completes it, never duplicating.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Flag:
    """An automated moderation flag and what triggered it."""

    code: str
    """possible-personal-data | offensive-language | possible-duplicate | all-capitals | very-short"""
    detail: str
    """What triggered it, for the editor (e.g. 'an NHS number (valid check digit)')."""
    links: tuple[tuple[str, str], ...] = ()
    """(title, site path) pairs, e.g. the closest published ideas for a duplicate."""

    @property
    def label(self) -> str:
        return self.code


@dataclass(frozen=True)
class Proposal:
    """One submission, ready to be proposed to editors."""

    reference: str
    kind: str
    """idea | comment | topic"""
    path: str
    """Repository path where the file lives once published, e.g. content/ideas/<challenge>/<slug>.md."""
    content: str
    """The whole file: YAML front matter (yaml.safe_dump) and body. No email, no address."""
    title: str
    """`Idea: <title>`, `Comment on: <idea title>` or `New topic: <title>`."""
    challenge: str | None
    summary_rows: tuple[tuple[str, str], ...] = ()
    """Rows for the editor's table: (Challenge, …), (Title, …), (Role, …), (Region, …), (Credit, name or 'anonymous')."""
    flags: tuple[Flag, ...] = field(default_factory=tuple)

    @property
    def branch(self) -> str:
        return f"submissions/{self.reference}"


class ProposalState(str, enum.Enum):
    MISSING = "missing"
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"


@runtime_checkable
class Forge(Protocol):
    def propose(self, proposal: Proposal) -> str:
        """Make (or finish making) the branch and change for one proposal; return its locator (branch name or pull request URL)."""
        ...

    def state(self, reference: str) -> ProposalState:
        """Where the proposal for this reference stands now."""
        ...


class ForgeUnavailable(Exception):
    """The forge could not be reached or asked us to wait: nothing was lost, retry later.

    `retry_after` is the delay the forge asked for, in seconds, when it said.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@runtime_checkable
class BatchingForge(Forge, Protocol):
    """A forge that can carry several submissions to one challenge in one change (GitHub)."""

    def propose_batch(self, challenge: str, proposals: list[Proposal]) -> dict[str, str]:
        """Propose these (oldest first) as one change; return reference → locator for each one it carries.

        A reference missing from the answer was not proposed (e.g. an earlier
        attempt already made a batch with fewer): the caller keeps it queued.
        """
        ...

    def one_by_one_capacity(self) -> int:
        """How many single proposals the budget can open within an hour."""
        ...

    @property
    def batch_size(self) -> int:
        """Most submissions one batched change carries."""
        ...
