"""The worker's batching hook for a surge: claim enough of the queue for full batches.

`Worker.publish(records)` hands several proposals to `forge.propose_many`,
which the GitHub forge answers with one pull request per challenge once the
budget cannot open them one by one. The worker claims 25 at a time, which
keeps batches small; when the queue holds more than the forge's budget can
open one by one within an hour, `publish_backlog(worker)` claims up to
`batch_size` × 10 instead, so each pull request carries up to batch_size
submissions and a surge of thousands reaches editors within hours. Call it
where the worker loop calls `run_once()`; otherwise it is `run_once()`.
"""

from __future__ import annotations

from typing import Any

from .forge.base import Forge
from .forge.batching import should_batch


def claim_size(forge: Forge, backlog: int) -> int | None:
    """How many submissions to claim at once for this backlog, or None for the worker's default."""
    if not forge.batches or not should_batch(backlog, forge.one_by_one_capacity()):
        return None
    return forge.batch_size * 10


def publish_backlog(worker: Any) -> int:
    """Publish what is due, in large claims when the backlog calls for batching; return how many were tried."""
    size = claim_size(worker.forge, worker.store.counts().get("received", 0))
    if size is None:
        return int(worker.run_once())
    return int(worker.run_once(batch=size))
