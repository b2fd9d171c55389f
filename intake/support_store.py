"""Where supports are kept: the `supports` and `support_counts` tables of the intake's store (intake/store.py),
SQLite or PostgreSQL alike (intake/db.py).

One row per browser and idea holds a hash of the browser's random token (never the
token itself, never a client address); `support_counts` holds the number of rows per
idea, changed in the same transaction as the rows, so the two always agree.

Supports are written like submissions (group commit): one writer thread commits
whatever arrived meanwhile in one transaction, so a burst costs one fsync per batch.
Nothing is ever committed to git.

Duplicates: a support is recorded against the original idea (the app resolves a
duplicate's slug first). When an editor marks an idea as a duplicate later, its rows
stay under its own slug and the counts are folded when they are read: a group (the
original and the ideas that repeat it) counts its distinct tokens, so a browser that
supported both counts once, and unmarking a duplicate gives back both counts unchanged.
Folding needs a `COUNT(DISTINCT …)` only for groups with more than one idea; every
other count is read straight from `support_counts`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from .db import Connection, Database

BATCH = 500
"""Most changes committed in one transaction."""
TRIES = 3
"""Runs of a batch that meets a deadlock or serialization failure before its requests hear of the failure."""


def token_hash(token: str) -> bytes:
    """What the store keeps of a browser's token: 16 bytes of its SHA-256 (the token is 128 random bits, so it cannot be recovered)."""
    return hashlib.sha256(b"consult-supporter:" + token.encode()).digest()[:16]


@dataclass(frozen=True)
class SupportChange:
    """One browser supporting (or withdrawing from) one idea: `group` is the original, then the ideas that repeat it."""

    token_hash: bytes
    group: tuple[str, ...]
    support: bool


@dataclass(frozen=True)
class SupportState:
    """Whether a browser supports an idea, and how many browsers do (duplicates folded in)."""

    supported: bool
    count: int


def _marks(group: Sequence[str]) -> str:
    return ",".join("?" * len(group))


def group_count(conn: Connection, group: Sequence[str]) -> int:
    """Browsers supporting the group: the stored count for one idea, distinct tokens across several."""
    if len(group) == 1:
        row = conn.execute("SELECT supporters FROM support_counts WHERE idea = ?", (group[0],)).fetchone()
        return int(row["supporters"]) if row else 0
    return int(conn.execute(f"SELECT COUNT(DISTINCT token_hash) AS n FROM supports WHERE idea IN ({_marks(group)})", tuple(group)).fetchone()["n"])


def supports_group(conn: Connection, hashed: bytes, group: Sequence[str]) -> bool:
    sql = f"SELECT 1 FROM supports WHERE token_hash = ? AND idea IN ({_marks(group)}) LIMIT 1"
    return conn.execute(sql, (hashed, *group)).fetchone() is not None


def apply_change(conn: Connection, change: SupportChange) -> SupportState:
    """One support or withdrawal, rows and counts together, inside the caller's transaction."""
    hashed, group = change.token_hash, change.group
    if change.support:
        if len(group) > 1 and supports_group(conn, hashed, group):
            return SupportState(True, group_count(conn, group))
        if conn.execute("INSERT INTO supports (token_hash, idea) VALUES (?, ?) ON CONFLICT DO NOTHING", (hashed, group[0])).rowcount:
            count = conn.execute(
                "INSERT INTO support_counts (idea, supporters) VALUES (?, 1) "
                "ON CONFLICT (idea) DO UPDATE SET supporters = support_counts.supporters + 1 RETURNING supporters",
                (group[0],),
            ).fetchone()["supporters"]
            if len(group) == 1:
                return SupportState(True, int(count))
    else:
        removed = conn.execute(f"DELETE FROM supports WHERE token_hash = ? AND idea IN ({_marks(group)}) RETURNING idea", (hashed, *group)).fetchall()
        for idea in sorted(row["idea"] for row in removed):
            conn.execute("UPDATE support_counts SET supporters = supporters - 1 WHERE idea = ?", (idea,))
            conn.execute("DELETE FROM support_counts WHERE idea = ? AND supporters <= 0", (idea,))
    return SupportState(change.support, group_count(conn, group))


class SupportStore:
    """Supports in the intake's store; several processes may share it.

    `change` is awaited on one event loop (the app's); `change_now` and the readers may be called from any thread."""

    def __init__(self, db: Database):
        """`db` is the submission store's (Store.db): on SQLite this process's writers take turns at its write lock,
        not in SQLite's busy handler, which sleeps."""
        self.db = db
        self._writer = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake-support-writer")
        self._pending: list[tuple[SupportChange, asyncio.Future[SupportState]]] = []
        self._draining = False

    # -- writing (group commit) -------------------------------------------------------------

    async def change(self, change: SupportChange) -> SupportState:
        """Record one change; answers once it is committed, with the browser's state and the idea's count.

        Changes wait on the event loop while the writer commits the batch before them, then go to it together:
        one handover to the writer thread and one fsync per batch, not per support."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[SupportState] = loop.create_future()
        self._pending.append((change, future))
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain(loop))
        return await future

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
                try:
                    states = await loop.run_in_executor(self._writer, self._commit, [change for change, _ in batch])
                except Exception as exc:  # noqa: BLE001 - every waiting request hears of the failure; nothing was kept
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), state in zip(batch, states):
                    if not future.done():  # its request may have been cancelled (the client went away)
                        future.set_result(state)
        finally:
            self._draining = False

    def change_now(self, change: SupportChange) -> SupportState:
        """The same, from a thread with no event loop (tests, commands)."""
        return self._writer.submit(self._commit, [change]).result()[0]

    def _commit(self, changes: list[SupportChange]) -> list[SupportState]:
        """Apply the changes in one transaction (on the writer thread). Processes sharing a PostgreSQL database
        first lock every idea the batch touches, in one order (`Database.lock_names`), so two batches never deadlock
        on a count or a row; should one all the same, the batch runs again."""
        ideas = {idea for change in changes for idea in change.group}
        for attempt in range(1, TRIES + 1):
            try:
                with self.db.transaction() as conn:
                    self.db.lock_names(conn, ideas)
                    return [apply_change(conn, change) for change in changes]
            except self.db.transient:
                if attempt == TRIES:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Finish the batch being written, then stop the writer (the store closes the database)."""
        self._writer.shutdown(wait=True)

    # -- reading ------------------------------------------------------------------------------

    def state(self, hashed: bytes | None, group: Sequence[str]) -> SupportState:
        """Whether the browser with this token hash (None: no token) supports the group, and the group's count."""
        with self.db.snapshot() as conn:
            supported = hashed is not None and supports_group(conn, hashed, group)
            return SupportState(supported, group_count(conn, group))

    def counts(self, groups: Sequence[Sequence[str]]) -> tuple[int, dict[str, int]]:
        """(the store's data version, {stored idea: count}) with each group of more than one idea folded into its
        first (distinct tokens), all read in one snapshot (the version read before it, so a change made meanwhile
        shows as a new version next time)."""
        version = self.db.data_version()
        with self.db.snapshot() as conn:
            stored = {row["idea"]: int(row["supporters"]) for row in conn.execute("SELECT idea, supporters FROM support_counts WHERE supporters > 0")}
            for group in groups:
                if len(group) > 1 and any(idea in stored for idea in group):
                    for idea in group:
                        stored.pop(idea, None)
                    stored[group[0]] = group_count(conn, group)
        return version, stored

    def data_version(self) -> int:
        """Changes whenever anything is committed to the store (by this process's writer or any other)."""
        return self.db.data_version()

    def total_rows(self) -> tuple[int, int]:
        """(rows in `supports`, sum of `support_counts`): equal when the store is consistent."""
        with self.db.snapshot() as conn:
            rows = conn.execute("SELECT COUNT(*) AS n FROM supports").fetchone()["n"]
            total = conn.execute("SELECT COALESCE(SUM(supporters), 0) AS n FROM support_counts").fetchone()["n"]
        return int(rows), int(total)
