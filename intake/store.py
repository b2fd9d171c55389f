"""The intake store: SQLite (WAL, synchronous=FULL) in the intake's data folder, or PostgreSQL (intake/db.py).

It is the only place contact details live. A submission is committed (and
fsynced) before the person is told "thank you": a single writer thread
commits whatever arrived meanwhile in one transaction (group commit), so
durability costs one fsync per batch, not per request.

The same SQL runs on both engines (see intake/db.py); the schema is made and
changed by the numbered migrations of intake/migrations.py, applied on opening.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.clock import Clock, system_clock, wall_time
from generator.scaffold import new_reference

from .db import Connection, Database, SqliteDatabase, open_database
from .migrations import migrate

if TYPE_CHECKING:
    from .settings import IntakeSettings

log = logging.getLogger("consult.intake")

LEASE_SECONDS = 15.0
"""How long a claim holds without renewal: the longest a killed worker's submissions wait for another."""


@dataclass(frozen=True)
class Record:
    reference: str
    kind: str
    received_at: dt.datetime
    fields: dict[str, str] | None
    state: str
    proposal: dict[str, Any] | None
    locator: str | None
    attempts: int
    last_error: str | None
    reason: str | None
    has_email: bool

    @classmethod
    def from_row(cls, row: Any) -> Record:
        return cls(
            reference=row["reference"],
            kind=row["kind"],
            received_at=dt.datetime.fromisoformat(row["received_at"]),
            fields=json.loads(row["fields"]) if row["fields"] else None,
            state=row["state"],
            proposal=json.loads(row["proposal"]) if row["proposal"] else None,
            locator=row["locator"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            reason=row["reason"],
            has_email=row["email"] is not None,
        )


def connect(path: Path) -> Any:
    """A SQLite connection with the store's settings (kept for callers from before intake/db.py)."""
    from .db import sqlite_connect

    return sqlite_connect(path)


@dataclass
class _Pending:
    kind: str
    fields: dict[str, str]
    email: str | None
    received_at: str
    future: concurrent.futures.Future[str]


class Store:
    """Durable queue and record of submissions. Thread-safe; safe to open from several processes."""

    def __init__(
        self,
        path: Path,
        taken: Callable[[str], bool] = lambda ref: False,
        clock: Clock | None = None,
        db: Database | None = None,
    ):
        """`path` is the SQLite file (its folder also holds the outbox); `db` another database to use instead
        (PostgreSQL: see `from_settings`). The schema is migrated on opening."""
        self.path = path
        self.taken = taken
        self.clock = clock or system_clock()
        """Dates kept with a submission (received, decided) and the retention cut-off are read from it."""
        self.db: Database = db if db is not None else SqliteDatabase(path)
        migrate(self.db)
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self.write_lock = self.db.write_lock
        """Serialises this process's write transactions, so they queue here instead of in SQLite's busy handler (which sleeps)."""

    @classmethod
    def from_settings(cls, settings: IntakeSettings, taken: Callable[[str], bool] = lambda ref: False) -> Store:
        """The store the settings name: PostgreSQL at CONSULT_INTAKE_DATABASE_URL, else the SQLite file in the data folder."""
        return cls(settings.db_path, taken=taken, clock=settings.clock, db=open_database(settings))

    @property
    def conn(self) -> Connection:
        """For one-statement reads (and writes) outside a transaction: this thread's SQLite connection, or on
        PostgreSQL a pooled connection borrowed for each statement."""
        if isinstance(self.db, SqliteDatabase):
            return self.db.conn
        from .db import AutocommitReader, PostgresDatabase

        assert isinstance(self.db, PostgresDatabase)
        return AutocommitReader(self.db)

    # -- adding submissions (group commit) -------------------------------------------------

    def _ensure_writer(self) -> None:
        with self._writer_lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write_loop, name="intake-store-writer", daemon=True)
                self._writer.start()

    def add_future(self, kind: str, fields: dict[str, str], email: str | None) -> concurrent.futures.Future[str]:
        """Queue one submission for the writer; the future gives its reference once committed."""
        self._ensure_writer()
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        now = self.clock.now().isoformat(timespec="microseconds")
        self._queue.put(_Pending(kind, fields, email, now, future))
        return future

    async def add(self, kind: str, fields: dict[str, str], email: str | None) -> str:
        return await asyncio.wrap_future(self.add_future(kind, fields, email))

    def add_now(self, kind: str, fields: dict[str, str], email: str | None) -> str:
        return self.add_future(kind, fields, email).result()

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < 500:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        with self.write_lock:
            self._commit_locked(batch)

    def _commit_locked(self, batch: list[_Pending]) -> None:
        references: list[str] = []
        try:
            with self.db.transaction() as conn:
                for item in batch:
                    references.append(self._insert(conn, item))
        except Exception as exc:  # noqa: BLE001 - every waiting request hears of the failure; nothing was kept
            for item in batch:
                item.future.set_exception(exc)
            return
        for item, reference in zip(batch, references):
            item.future.set_result(reference)

    def _insert(self, conn: Connection, item: _Pending) -> str:
        """Insert under a new reference; one already used (a very rare collision) draws another. `ON CONFLICT DO
        NOTHING` rather than catching the error, because a failed statement ends a PostgreSQL transaction."""
        while True:
            reference = new_reference()
            if self.taken(reference):
                continue
            row = conn.execute(
                "INSERT INTO submissions (reference, kind, received_at, fields, email) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (reference) DO NOTHING RETURNING reference",
                (reference, item.kind, item.received_at, json.dumps(item.fields, ensure_ascii=False), item.email),
            ).fetchone()
            if row is not None:
                return reference

    def close(self) -> None:
        """Finish what the writer holds, then release the database's connections."""
        if self._writer is not None and self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(timeout=10)
        self.db.close()

    # -- the worker's side ------------------------------------------------------------------

    def claim_due(self, limit: int = 1, lease_seconds: float = LEASE_SECONDS) -> list[Record]:
        """Take the submissions due for publishing (oldest first), leased so one worker handles each at a time.

        The lease is short and the worker renews it while it works (`keep_leased`), so what a killed process had
        claimed is taken over within seconds; the forge's look-before-create rules make the takeover safe.
        """
        now = time.time()
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM submissions WHERE state = 'received' AND next_attempt <= ? AND lease_until <= ? "
                "ORDER BY next_attempt, received_at LIMIT ?" + self.db.skip_locked,
                (now, now, limit),
            ).fetchall()
            conn.executemany("UPDATE submissions SET lease_until = ? WHERE reference = ?", [(now + lease_seconds, r["reference"]) for r in rows])
        return [Record.from_row(r) for r in rows]

    def renew_leases(self, references: list[str], lease_seconds: float = LEASE_SECONDS) -> int:
        """Extend the lease of claimed submissions not yet proposed; returns how many were still held."""
        if not references:
            return 0
        with self.transaction() as conn:
            cur = conn.executemany(
                "UPDATE submissions SET lease_until = ? WHERE reference = ? AND state = 'received'",
                [(time.time() + lease_seconds, ref) for ref in sorted(references)],  # rows in one order: no deadlock with mark_proposed
            )
        return cur.rowcount

    @contextlib.contextmanager
    def keep_leased(self, references: list[str], lease_seconds: float = LEASE_SECONDS) -> Iterator[None]:
        """While the block runs, renew these leases every third of a lease (from a thread of its own, so a long
        wait for GitHub's limits does not let them lapse). A process that dies stops renewing at once."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(lease_seconds / 3):
                try:
                    self.renew_leases(references, lease_seconds)
                except self.db.errors as exc:  # the next renewal tries again; the lease is long enough for one miss
                    log.warning("Could not renew the lease of %d submission(s): %s", len(references), exc)

        thread = threading.Thread(target=renew, name="intake-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    def save_proposals(self, proposals: dict[str, dict[str, Any]]) -> None:
        """Keep built proposals (reference → proposal) so a retry proposes exactly the same file."""
        if not proposals:
            return
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE submissions SET proposal = ? WHERE reference = ? AND proposal IS NULL",
                [(json.dumps(p, ensure_ascii=False), ref) for ref, p in sorted(proposals.items())],
            )

    def mark_proposed(self, done: dict[str, str]) -> None:
        """Record reference → locator for proposals the forge now holds."""
        if not done:
            return
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE submissions SET state = 'proposed', locator = ?, last_error = NULL, lease_until = 0 WHERE reference = ? AND state = 'received'",
                [(locator, ref) for ref, locator in sorted(done.items())],
            )

    def transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """One write transaction (SQLite: BEGIN IMMEDIATE, queued behind this process's other writers)."""
        return self.db.transaction()

    def mark_failed(self, reference: str, error: str, retry_in: float) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE submissions SET attempts = attempts + 1, last_error = ?, next_attempt = ?, lease_until = 0 WHERE reference = ?",
                (error[:500], time.time() + retry_in, reference),
            )

    def decide(self, reference: str, state: str, reason: str | None = None) -> bool:
        """Record that editors merged (published) or closed (not published) a proposal."""
        assert state in ("merged", "closed")
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE submissions SET state = ?, reason = ?, decided_at = ? WHERE reference = ?",
                (state, reason, wall_time().isoformat(timespec="microseconds"), reference),
            )
        return cur.rowcount > 0

    # -- reading ----------------------------------------------------------------------------

    def get(self, reference: str) -> Record | None:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM submissions WHERE reference = ?", (reference,)).fetchone()
        return Record.from_row(row) if row is not None else None

    def in_state(self, state: str) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM submissions WHERE state = ? ORDER BY received_at", (state,)).fetchall()
        return [Record.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT state, COUNT(*) AS n FROM submissions GROUP BY state").fetchall()
        return {r["state"]: int(r["n"]) for r in rows}

    def merged_since(self, since: str) -> int:
        """How many submissions were recorded as published (by anyone, e.g. `consult review accept`) at or after `since` (ISO time)."""
        with self.db.read() as conn:
            row = conn.execute("SELECT COUNT(*) AS n FROM submissions WHERE state = 'merged' AND decided_at >= ?", (since,)).fetchone()
        return int(row["n"])

    def waiting_ideas(self) -> list[tuple[str, str, str]]:
        """(reference, title, text) of every idea not yet decided, oldest first: compared for duplicates."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT reference, fields FROM submissions WHERE kind = 'idea' AND state IN ('received', 'proposed') AND fields IS NOT NULL ORDER BY received_at"
            ).fetchall()
        ideas = []
        for row in rows:
            fields = json.loads(row["fields"])
            ideas.append((row["reference"], str(fields.get("title") or ""), str(fields.get("idea") or "")))
        return ideas

    def proposal_paths(self) -> set[str]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT proposal FROM submissions WHERE proposal IS NOT NULL").fetchall()
        paths = (json.loads(r["proposal"]).get("path") for r in rows)
        return {path for path in paths if path}

    # -- privacy ----------------------------------------------------------------------------

    def purge(self, older_than: dt.timedelta) -> tuple[int, int]:
        """Delete contact details older than the limit, and the text of decided submissions.

        Returns (contact details deleted, texts deleted). Reference, state and public reason are kept for /status.
        """
        now_moment = self.clock.now()
        cutoff = (now_moment - older_than).isoformat(timespec="microseconds")
        now = now_moment.isoformat(timespec="seconds")
        with self.transaction() as conn:
            contacts = conn.execute(
                "UPDATE submissions SET email = NULL, contact_purged_at = ? WHERE received_at < ? AND email IS NOT NULL", (now, cutoff)
            ).rowcount
            texts = conn.execute(
                "UPDATE submissions SET fields = NULL, proposal = NULL WHERE received_at < ? AND state IN ('merged', 'closed') AND fields IS NOT NULL",
                (cutoff,),
            ).rowcount
        if isinstance(self.db, SqliteDatabase):
            self.db.checkpoint()  # PostgreSQL's deleted rows go with VACUUM, run by autovacuum
        return contacts, texts
