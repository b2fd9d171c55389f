"""The intake store: one SQLite database (WAL, synchronous=FULL) in the intake's data folder.

It is the only place contact details live. A submission is committed (and
fsynced) before the person is told "thank you": a single writer thread
commits whatever arrived meanwhile in one transaction (group commit), so
durability costs one fsync per batch, not per request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.clock import Clock, system_clock, wall_time
from generator.scaffold import new_reference

log = logging.getLogger("consult.intake")

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
  reference TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  received_at TEXT NOT NULL,
  fields TEXT,
  email TEXT,
  state TEXT NOT NULL DEFAULT 'received',
  proposal TEXT,
  locator TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt REAL NOT NULL DEFAULT 0,
  lease_until REAL NOT NULL DEFAULT 0,
  last_error TEXT,
  reason TEXT,
  decided_at TEXT,
  contact_purged_at TEXT
);
CREATE INDEX IF NOT EXISTS submissions_due ON submissions(state, next_attempt);
CREATE TABLE IF NOT EXISTS notify_messages (
  key TEXT PRIMARY KEY,
  email TEXT,
  template TEXT NOT NULL,
  personalisation TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt REAL NOT NULL DEFAULT 0,
  notify_id TEXT,
  error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT
);
CREATE INDEX IF NOT EXISTS notify_messages_due ON notify_messages(state, next_attempt);
CREATE TABLE IF NOT EXISTS notify_limiter (
  name TEXT PRIMARY KEY,
  tokens REAL NOT NULL,
  updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notify_subscriptions (
  reference TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at TEXT NOT NULL,
  snapshot TEXT NOT NULL DEFAULT '{}'
);
-- "I support this idea" (intake/support_store.py): one row per browser and idea, keyed by a hash of the
-- browser's random token (never the token, never an address), and the number of rows per idea, kept in step.
CREATE TABLE IF NOT EXISTS supports (
  token_hash BLOB NOT NULL,
  idea TEXT NOT NULL,
  PRIMARY KEY (token_hash, idea)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS supports_idea ON supports(idea);
CREATE TABLE IF NOT EXISTS support_counts (
  idea TEXT PRIMARY KEY,
  supporters INTEGER NOT NULL
) WITHOUT ROWID;
"""

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
    def from_row(cls, row: sqlite3.Row) -> Record:
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


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@dataclass
class _Pending:
    kind: str
    fields: dict[str, str]
    email: str | None
    received_at: str
    future: concurrent.futures.Future[str]


class Store:
    """Durable queue and record of submissions. Thread-safe; safe to open from several processes."""

    def __init__(self, path: Path, taken: Callable[[str], bool] = lambda ref: False, clock: Clock | None = None):
        self.path = path
        self.taken = taken
        self.clock = clock or system_clock()
        """Dates kept with a submission (received, decided) and the retention cut-off are read from it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.parent.chmod(0o700)
        except OSError:
            pass
        self._local = threading.local()
        self.conn.executescript(SCHEMA)
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self.write_lock = threading.RLock()
        """Serialises this process's write transactions, so they queue here instead of in SQLite's busy handler (which sleeps)."""

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

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
        conn = self.conn
        references: list[str] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in batch:
                references.append(self._insert(conn, item))
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - every waiting request hears of the failure; nothing was kept
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for item in batch:
                item.future.set_exception(exc)
            return
        for item, reference in zip(batch, references):
            item.future.set_result(reference)

    def _insert(self, conn: sqlite3.Connection, item: _Pending) -> str:
        while True:
            reference = new_reference()
            if self.taken(reference):
                continue
            try:
                conn.execute(
                    "INSERT INTO submissions (reference, kind, received_at, fields, email) VALUES (?, ?, ?, ?, ?)",
                    (reference, item.kind, item.received_at, json.dumps(item.fields, ensure_ascii=False), item.email),
                )
                return reference
            except sqlite3.IntegrityError:
                continue

    def close(self) -> None:
        if self._writer is not None and self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(timeout=10)

    # -- the worker's side ------------------------------------------------------------------

    def claim_due(self, limit: int = 1, lease_seconds: float = LEASE_SECONDS) -> list[Record]:
        """Take the submissions due for publishing (oldest first), leased so one worker handles each at a time.

        The lease is short and the worker renews it while it works (`keep_leased`), so what a killed process had
        claimed is taken over within seconds; the forge's look-before-create rules make the takeover safe.
        """
        now = time.time()
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM submissions WHERE state = 'received' AND next_attempt <= ? AND lease_until <= ? ORDER BY next_attempt, received_at LIMIT ?",
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
                [(time.time() + lease_seconds, ref) for ref in references],
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
                except sqlite3.Error as exc:  # the next renewal tries again; the lease is long enough for one miss
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
                [(json.dumps(p, ensure_ascii=False), ref) for ref, p in proposals.items()],
            )

    def mark_proposed(self, done: dict[str, str]) -> None:
        """Record reference → locator for proposals the forge now holds."""
        if not done:
            return
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE submissions SET state = 'proposed', locator = ?, last_error = NULL, lease_until = 0 WHERE reference = ? AND state = 'received'",
                [(locator, ref) for ref, locator in done.items()],
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE), queued behind this process's other writers."""
        conn = self.conn
        with self.write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

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
        row = self.conn.execute("SELECT * FROM submissions WHERE reference = ?", (reference,)).fetchone()
        return Record.from_row(row) if row is not None else None

    def in_state(self, state: str) -> list[Record]:
        rows = self.conn.execute("SELECT * FROM submissions WHERE state = ? ORDER BY received_at", (state,)).fetchall()
        return [Record.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, COUNT(*) AS n FROM submissions GROUP BY state").fetchall()
        return {r["state"]: r["n"] for r in rows}

    def merged_since(self, since: str) -> int:
        """How many submissions were recorded as published (by anyone, e.g. `consult review accept`) at or after `since` (ISO time)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM submissions WHERE state = 'merged' AND decided_at >= ?", (since,)).fetchone()[0])

    def waiting_ideas(self) -> list[tuple[str, str, str]]:
        """(reference, title, text) of every idea not yet decided, oldest first: compared for duplicates."""
        rows = self.conn.execute(
            "SELECT reference, json_extract(fields, '$.title') AS title, json_extract(fields, '$.idea') AS text FROM submissions "
            "WHERE kind = 'idea' AND state IN ('received', 'proposed') AND fields IS NOT NULL ORDER BY received_at"
        ).fetchall()
        return [(r["reference"], r["title"] or "", r["text"] or "") for r in rows]

    def proposal_paths(self) -> set[str]:
        rows = self.conn.execute("SELECT json_extract(proposal, '$.path') AS path FROM submissions WHERE proposal IS NOT NULL").fetchall()
        return {r["path"] for r in rows if r["path"]}

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
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return contacts, texts
