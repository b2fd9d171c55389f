"""The store's schema, as numbered migrations recorded in `schema_migrations`; applied on start and by
`consult intake migrate`.

Each migration has its DDL for each engine (the types differ: BLOB/BYTEA, REAL/DOUBLE PRECISION) and runs, with its
row in `schema_migrations`, in one transaction: a migration is applied whole or not at all. Two processes starting
together take turns (SQLite's write lock; a PostgreSQL advisory lock), so each migration runs once.

Migration 1 is the schema the intake created before migrations existed, with `CREATE … IF NOT EXISTS`: a SQLite
store made by that code is adopted as version 1 as it is, rows and all. Add a change as a new migration at the end
of the list; never edit one that has been released.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from generator.clock import wall_time

from .db import Connection, Database

log = logging.getLogger("consult.intake")

MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)
"""

ADVISORY_LOCK = 0x636F6E73756C74
"""PostgreSQL advisory lock held while migrating ('consult' in ASCII): replicas starting together take turns."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: str
    postgresql: str

    def statements(self, dialect: str) -> list[str]:
        """The DDL for one engine, one statement each, comments left out (no statement holds a `;` of its own)."""
        script = self.sqlite if dialect == "sqlite" else self.postgresql
        code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
        return [part.strip() for part in code.split(";") if part.strip()]


def _store_tables(blob: str, real: str, without_rowid: str) -> str:
    """Migration 1's DDL, with each engine's name for bytes, floating-point seconds and SQLite's `WITHOUT ROWID`."""
    return f"""
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
  next_attempt {real} NOT NULL DEFAULT 0,
  lease_until {real} NOT NULL DEFAULT 0,
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
  next_attempt {real} NOT NULL DEFAULT 0,
  notify_id TEXT,
  error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT
);
CREATE INDEX IF NOT EXISTS notify_messages_due ON notify_messages(state, next_attempt);
CREATE TABLE IF NOT EXISTS notify_limiter (
  name TEXT PRIMARY KEY,
  tokens {real} NOT NULL,
  updated {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS notify_subscriptions (
  reference TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at TEXT NOT NULL,
  snapshot TEXT NOT NULL DEFAULT '{{}}'
);
-- "I support this idea" (intake/support_store.py): one row per browser and idea, keyed by a hash of the
-- browser's random token (never the token, never an address), and the number of rows per idea, kept in step.
CREATE TABLE IF NOT EXISTS supports (
  token_hash {blob} NOT NULL,
  idea TEXT NOT NULL,
  PRIMARY KEY (token_hash, idea)
){without_rowid};
CREATE INDEX IF NOT EXISTS supports_idea ON supports(idea);
CREATE TABLE IF NOT EXISTS support_counts (
  idea TEXT PRIMARY KEY,
  supporters INTEGER NOT NULL
){without_rowid};
-- GitHub's content-creating requests of the last hour (intake/forge/ratelimit.py), shared by every process.
CREATE TABLE IF NOT EXISTS forge_writes (at {real} NOT NULL);
CREATE INDEX IF NOT EXISTS forge_writes_at ON forge_writes(at)
"""


REPLICA_TABLES = """
-- The publisher lease (intake/publisher.py): one row per lease; only its holder publishes. Expiry in wall-clock seconds.
CREATE TABLE IF NOT EXISTS publisher_lease (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires DOUBLE PRECISION NOT NULL
);
-- The rate limits shared by replicas (intake/ratelimit.py SharedRateLimiter): a token bucket per kind of limit and
-- client, keyed by the hex of an HMAC of the address (never the address), and whether its last check was allowed.
CREATE TABLE IF NOT EXISTS rate_buckets (
  kind TEXT NOT NULL,
  client TEXT NOT NULL,
  tokens DOUBLE PRECISION NOT NULL,
  updated DOUBLE PRECISION NOT NULL,
  allowed INTEGER NOT NULL,
  PRIMARY KEY (kind, client)
)
"""
"""The same DDL on both engines: text keys and DOUBLE PRECISION (SQLite reads it as REAL; a 4-byte REAL could not hold epoch seconds)."""


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "submissions, emails, supports and GitHub's write budget",
        sqlite=_store_tables("BLOB", "REAL", " WITHOUT ROWID"),
        postgresql=_store_tables("BYTEA", "DOUBLE PRECISION", ""),
    ),
    Migration(2, "the publisher lease and the shared rate limits", sqlite=REPLICA_TABLES, postgresql=REPLICA_TABLES),
]
"""Every migration, oldest first; versions 1, 2, 3… without gaps."""


def applied_versions(conn: Connection) -> set[int]:
    return {int(row["version"]) for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply every migration the database has not had, in order, in one transaction; returns those applied."""
    migrations = MIGRATIONS if migrations is None else migrations
    applied: list[Migration] = []
    with db.transaction() as conn:
        if db.dialect == "postgresql":
            conn.execute("SELECT pg_advisory_xact_lock(?) AS locked", (ADVISORY_LOCK,))
        conn.execute(MIGRATIONS_TABLE)
        done = applied_versions(conn)
        for migration in migrations:
            if migration.version in done:
                continue
            for statement in migration.statements(db.dialect):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, wall_time().isoformat(timespec="seconds")),
            )
            applied.append(migration)
    newer = sorted(done - {m.version for m in migrations})
    if newer:
        log.warning("The %s has schema version(s) %s that this intake does not know: a newer release migrated it.", db.describe(), newer)
    for migration in applied:
        log.info("Applied migration %d (%s) to the %s", migration.version, migration.name, db.describe())
    return applied
