"""When to batch, and how: the policy shared by the intake worker and the surge benchmark.

The worker claims WORKER_CLAIM queued submissions at a time; when the forge
batches and the queue holds more than its budget can open one by one within
an hour, it claims `batch_size` × BATCH_CLAIMS instead (`claim_size`), so each
pull request can carry up to batch_size submissions.

One pull request costs about five content-creating requests, so the hourly
budget opens `capacity` pull requests an hour. While the backlog fits in
that, each submission gets its own pull request; beyond it, submissions are
grouped per challenge (oldest first) into pull requests of up to
`batch_size`, so a surge of thousands reaches editors within hours.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import Proposal

NO_CHALLENGE = "general"
WORKER_CLAIM = 25
"""How many submissions the worker claims at once while the backlog is small."""
BATCH_CLAIMS = 10
"""How many full batches the worker claims at once in a surge."""


def should_batch(backlog: int, capacity: int) -> bool:
    """True when the queue holds more than the budget can open one by one within an hour."""
    return backlog > capacity


def claim_size(backlog: int, capacity: int, batch_size: int) -> int:
    """How many queued submissions to claim at once for this backlog and a batching forge's capacity and batch size."""
    return batch_size * BATCH_CLAIMS if should_batch(backlog, capacity) else WORKER_CLAIM


def plan(pending: Sequence[Proposal], capacity: int, batch_size: int) -> list[tuple[str, list[Proposal]]]:
    """Groups to propose, in order: singles when the backlog is small, else per-challenge chunks.

    `pending` must be oldest first; each group keeps that order, so a retry
    with the same queue names the same batch branches.
    """
    if not should_batch(len(pending), capacity):
        return [(p.challenge or NO_CHALLENGE, [p]) for p in pending]
    groups: dict[str, list[Proposal]] = {}
    for p in pending:
        groups.setdefault(p.challenge or NO_CHALLENGE, []).append(p)
    chunks = [(c, ps[i : i + batch_size]) for c, ps in groups.items() for i in range(0, len(ps), batch_size)]
    position = {p.reference: i for i, p in enumerate(pending)}
    return sorted(chunks, key=lambda chunk: position[chunk[1][0].reference])
