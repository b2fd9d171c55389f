"""The forge contract: one base class declaring every operation, two back ends (local git, GitHub).

The publisher worker hands a forge a `Proposal` (everything an editor needs,
never contact details) and later asks for its state. Every method is
idempotent: calling `propose` again after a crash or timeout finds what was
already made and completes it, never duplicating.
"""

from __future__ import annotations

import abc
import enum
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar


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


UNLIMITED = sys.maxsize
"""The capacity of a forge without a budget: any number of proposals, one by one."""


class ProposalState(str, enum.Enum):
    MISSING = "missing"
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"


class Forge(abc.ABC):
    """Every operation the intake asks of a forge; subclasses define `propose` and `state` and override the rest where they can do better.

    The defaults describe a forge that proposes one change per submission and
    does not batch (`batches` is False): `propose_many` and `propose_batch`
    loop over `propose`, `states` loops over `state`, and `public_reason` has
    nothing to say.
    """

    batches: ClassVar[bool] = False
    """True when the forge can carry several submissions in one change (GitHub); then the worker claims more at once in a surge."""

    @abc.abstractmethod
    def propose(self, proposal: Proposal) -> str:
        """Make (or finish making) the branch and change for one proposal; return its locator (branch name or pull request URL)."""

    @abc.abstractmethod
    def state(self, reference: str) -> ProposalState:
        """Where the proposal for this reference stands now."""

    def propose_many(self, proposals: list[Proposal], on_proposed: Callable[[dict[str, str]], object] | None = None) -> dict[str, str]:
        """Propose several; return reference → locator. `on_proposed` hears of each as soon as the forge holds it.

        Default: one `propose` after another (an error stops the loop; what was made before it was reported).
        """
        done: dict[str, str] = {}
        for proposal in proposals:
            made = {proposal.reference: self.propose(proposal)}
            done |= made
            if on_proposed is not None:
                on_proposed(made)
        return done

    def states(self, references: Sequence[str]) -> dict[str, ProposalState]:
        """Where each proposal stands. Default: `state` for each in turn."""
        return {reference: self.state(reference) for reference in references}

    def public_reason(self, reference: str) -> str | None:
        """The editors' public reason for closing this proposal, for its status page; None when there is none."""
        return None

    # -- batching (a forge that sets `batches`) ---------------------------------------------

    @property
    def batch_size(self) -> int:
        """Most submissions one change carries. Default: one (no batching)."""
        return 1

    def one_by_one_capacity(self) -> int:
        """How many single proposals the forge's budget can open within an hour. Default: no budget (UNLIMITED)."""
        return UNLIMITED

    def propose_batch(self, challenge: str, proposals: list[Proposal]) -> dict[str, str]:
        """Propose these (oldest first) as one change; return reference → locator for each one it carries.

        A reference missing from the answer was not proposed (e.g. an earlier
        attempt already made a batch with fewer): the caller keeps it queued.
        Default: each proposed on its own.
        """
        return self.propose_many(proposals)


class ForgeUnavailable(Exception):
    """The forge could not be reached or asked us to wait: nothing was lost, retry later.

    `retry_after` is the delay the forge asked for, in seconds, when it said.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
