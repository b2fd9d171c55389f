"""The database layer (intake/db.py) and the migrations (intake/migrations.py), on SQLite and on PostgreSQL.

The same SQL, with `?` placeholders, on both engines; rows by column name; a transaction that raises keeps nothing;
migrations applied once, adopting a SQLite store made before migrations existed; claims of work never overlap.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.errors import ConsultError
from intake.db import Database, DatabaseUnavailable, PostgresDatabase, check_url, connect, redacted, to_format
from intake.migrations import MIGRATIONS, Migration, migrate
from intake.settings import IntakeSettings
from intake.store import Store
from tests.conftest import PROJECT
from tests.postgres import free_port

SCHEMA_BEFORE_MIGRATIONS = """
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
CREATE TABLE IF NOT EXISTS forge_writes (at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS forge_writes_at ON forge_writes(at);
"""
"""The schema as intake/store.py and intake/forge/ratelimit.py made it before migrations existed (copied verbatim)."""


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """An empty database on the test's engine, migrated."""
    db = connect(database_url, tmp_path / "intake.sqlite3")
    migrate(db)
    yield db
    db.close()


# -- one SQL for both engines -----------------------------------------------------------------


def test_question_marks_become_psycopg_placeholders_outside_quoted_text() -> None:
    assert (
        to_format("SELECT a FROM t WHERE b = ? AND c LIKE '100%?' AND \"odd?\" = ?")
        == "SELECT a FROM t WHERE b = %s AND c LIKE '100%%?' AND \"odd?\" = %s"
    )
    assert to_format("SELECT 5 % 2 AS n") == "SELECT 5 %% 2 AS n"


def test_the_same_sql_runs_on_both_engines_with_rows_by_name(database: Database) -> None:
    with database.transaction() as conn:
        conn.executemany("INSERT INTO notify_limiter (name, tokens, updated) VALUES (?, ?, ?)", [("a", 1.5, 10.0), ("b", 2.0, 20.0)])
        again = conn.execute(
            "INSERT INTO notify_limiter (name, tokens, updated) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING name", ("a", 9.0, 9.0)
        )
        assert again.fetchone() is None, "a conflict inserts nothing and returns no row"
        conn.execute("INSERT INTO supports (token_hash, idea) VALUES (?, ?)", (b"\x00\xff" * 8, "idea-100%"))
    with database.read() as conn:
        rows = conn.execute("SELECT name, tokens, updated, '50%' AS percent FROM notify_limiter WHERE tokens >= ? ORDER BY name", (1.0,)).fetchall()
        assert [(r["name"], r["tokens"], r["updated"], r["percent"]) for r in rows] == [("a", 1.5, 10.0, "50%"), ("b", 2.0, 20.0, "50%")]
        assert conn.execute("SELECT COUNT(*) AS n FROM notify_limiter").fetchone()["n"] == 2
        support = conn.execute("SELECT token_hash, idea FROM supports").fetchone()
        assert bytes(support["token_hash"]) == b"\x00\xff" * 8 and support["idea"] == "idea-100%"
        changed = conn.executemany("UPDATE notify_limiter SET tokens = ? WHERE name = ?", [(0.0, "a"), (0.0, "b"), (0.0, "nobody")])
        assert changed.rowcount == 2, "executemany counts the rows of every statement"


def test_a_transaction_that_raises_keeps_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as conn:
        conn.execute("INSERT INTO forge_writes (at) VALUES (?)", (1.0,))
        raise RuntimeError("half way")
    with pytest.raises(database.errors), database.transaction() as conn:
        conn.execute("INSERT INTO forge_writes (at) VALUES (?)", (2.0,))
        conn.execute("INSERT INTO no_such_table (at) VALUES (?)", (3.0,))
    with database.read() as conn:
        assert conn.execute("SELECT COUNT(*) AS n FROM forge_writes").fetchone()["n"] == 0
    with database.transaction() as conn:  # the connection is usable again afterwards
        conn.execute("INSERT INTO forge_writes (at) VALUES (?)", (4.0,))
    with database.read() as conn:
        assert [r["at"] for r in conn.execute("SELECT at FROM forge_writes").fetchall()] == [4.0]


def test_a_reference_already_stored_draws_another_inside_the_same_transaction(
    make_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collision must not end the transaction (PostgreSQL aborts one after a failed statement): the batch commits."""
    store = make_store()
    first = store.add_now("idea", {"title": "one"}, None)
    drawn = iter([first, first, "TH-NEW01"])
    monkeypatch.setattr("intake.store.new_reference", lambda: next(drawn))
    assert store.add_now("idea", {"title": "two"}, None) == "TH-NEW01"
    assert store.counts() == {"received": 2}
    kept = store.get(first)
    assert kept is not None and kept.fields == {"title": "one"}, "the first submission is untouched"


# -- claims ---------------------------------------------------------------------------------------------


def test_claims_from_two_processes_never_overlap(make_store: Callable[..., Store]) -> None:
    """Two stores (two processes' connections) claiming at once: each submission claimed by exactly one."""
    first, second = make_store(), make_store()
    references = {first.add_now("idea", {"title": f"idea {n}"}, None) for n in range(60)}
    claimed: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)

    def claim(index: int, store: Store) -> None:
        barrier.wait()
        while batch := store.claim_due(limit=3, lease_seconds=600):
            claimed[index].extend(record.reference for record in batch)

    threads = [threading.Thread(target=claim, args=(n, store)) for n, store in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(claimed[0] + claimed[1]) == sorted(references), "every submission claimed once, none twice"


def test_a_claim_skips_rows_another_transaction_holds(postgres_database: str, tmp_path: Path) -> None:
    """PostgreSQL: rows locked by a claim not yet committed are skipped (FOR UPDATE SKIP LOCKED), not waited for."""
    store = Store(tmp_path / "intake.sqlite3", db=connect(postgres_database, tmp_path / "intake.sqlite3"))
    other = Store(tmp_path / "intake.sqlite3", db=connect(postgres_database, tmp_path / "intake.sqlite3"))
    try:
        for n in range(5):
            store.add_now("idea", {"title": f"idea {n}"}, None)
        with store.transaction() as conn:
            held = conn.execute("SELECT reference FROM submissions ORDER BY received_at LIMIT 2" + store.db.skip_locked).fetchall()
            got = other.claim_due(limit=10)
            assert len(held) == 2 and len(got) == 3
            assert {r["reference"] for r in held}.isdisjoint(record.reference for record in got)
    finally:
        store.close()
        other.close()


# -- migrations -----------------------------------------------------------------------------------------


def test_migrations_are_applied_once_and_recorded(database_url: str, tmp_path: Path) -> None:
    db = connect(database_url, tmp_path / "intake.sqlite3")
    try:
        assert [m.version for m in migrate(db)] == [m.version for m in MIGRATIONS]
        assert migrate(db) == []
        with db.read() as conn:
            rows = conn.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").fetchall()
        assert [(r["version"], r["name"]) for r in rows] == [(m.version, m.name) for m in MIGRATIONS] and all(r["applied_at"] for r in rows)
        later = Migration(len(MIGRATIONS) + 1, "a later change", "CREATE TABLE later (x INTEGER)", "CREATE TABLE later (x INTEGER)")
        broken = Migration(len(MIGRATIONS) + 2, "a broken change", "CREATE TABLE nope (", "CREATE TABLE nope (")
        with pytest.raises(db.errors):
            migrate(db, [*MIGRATIONS, later, broken])
        assert migrate(db) == [], "a failed run applies nothing: the migrations before the broken one were rolled back too"
        assert [m.version for m in migrate(db, [*MIGRATIONS, later])] == [later.version]
    finally:
        db.close()


def test_a_sqlite_store_made_before_migrations_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "intake.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_BEFORE_MIGRATIONS)
        conn.execute(
            "INSERT INTO submissions (reference, kind, received_at, fields, email) VALUES ('TH-OLD01', 'idea', '2026-01-01T00:00:00+00:00', ?, 'old@example.org')",
            ('{"title": "Old"}',),
        )
        conn.execute("INSERT INTO supports (token_hash, idea) VALUES (?, 'an-idea')", (b"x" * 16,))
        conn.execute("INSERT INTO forge_writes (at) VALUES (1.0)")
    store = Store(path)
    try:
        record = store.get("TH-OLD01")
        assert record is not None and record.fields == {"title": "Old"} and record.has_email
        with store.db.read() as conn:
            assert conn.execute("SELECT COUNT(*) AS n FROM supports").fetchone()["n"] == 1
            assert conn.execute("SELECT COUNT(*) AS n FROM forge_writes").fetchone()["n"] == 1
            assert [r["version"] for r in conn.execute("SELECT version FROM schema_migrations").fetchall()] == [m.version for m in MIGRATIONS], (
                "adopted as 1, then the newer ones applied"
            )
        assert store.add_now("idea", {"title": "New"}, None) and store.counts() == {"received": 2}
    finally:
        store.close()


def test_consult_intake_migrate_says_what_it_applied_and_is_idempotent(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .conftest import make_repo

    repo = make_repo(tmp_path / "repo")
    monkeypatch.setenv("CONSULT_INTAKE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CONSULT_INTAKE_DATABASE_URL", database_url)
    first = CliRunner().invoke(main, ["--root", str(repo), "intake", "migrate"])
    assert first.exit_code == 0, first.output
    assert f"Applied migration 1: {MIGRATIONS[0].name}" in first.output and f"now at schema version {MIGRATIONS[-1].version}" in first.output
    again = CliRunner().invoke(main, ["--root", str(repo), "intake", "migrate"])
    assert again.exit_code == 0 and "Applied" not in again.output and "up to date" in again.output, again.output
    assert ("PostgreSQL" if database_url else "SQLite") in again.output


def test_an_unreachable_postgresql_is_named_without_its_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .conftest import make_repo

    repo = make_repo(tmp_path / "repo")
    port = free_port()  # nothing listens there
    monkeypatch.setenv("CONSULT_INTAKE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CONSULT_INTAKE_DATABASE_URL", f"postgresql://intake:hunter2secret@127.0.0.1:{port}/consult")
    result = CliRunner().invoke(main, ["--root", str(repo), "intake", "migrate"])
    assert result.exit_code == 1
    assert f"Could not reach the PostgreSQL database postgresql://intake@127.0.0.1:{port}/consult" in result.output
    assert "hunter2secret" not in result.output and "Check that PostgreSQL runs there" in result.output
    db = PostgresDatabase(f"postgresql://intake:hunter2secret@127.0.0.1:{port}/consult", timeout=1)
    try:
        with pytest.raises(DatabaseUnavailable) as raised, db.read() as conn:
            conn.execute("SELECT 1 AS one")
        assert "hunter2secret" not in str(raised.value) and f"127.0.0.1:{port}/consult" in str(raised.value)
    finally:
        db.close()


def test_the_database_url_must_be_postgresql_and_is_never_shown_with_its_password() -> None:
    assert redacted("postgresql://intake:s3cret@db.internal:5433/consult?sslmode=require") == "postgresql://intake@db.internal:5433/consult"
    assert check_url("postgres://db/consult") == "postgres://db/consult"
    for bad in ("mysql://root:s3cret@db/consult", "sqlite:///tmp/x.db", "db.internal/consult", "postgresql://db:port/consult"):
        with pytest.raises(ConsultError, match="CONSULT_INTAKE_DATABASE_URL") as raised:
            IntakeSettings.from_environment(PROJECT, environ={"CONSULT_INTAKE_DATABASE_URL": bad})
        assert "s3cret" not in str(raised.value)
    with pytest.raises(ConsultError, match="CONSULT_INTAKE_DATABASE_POOL must be a whole number"):
        IntakeSettings.from_environment(PROJECT, environ={"CONSULT_INTAKE_DATABASE_POOL": "lots"})
    with pytest.raises(ConsultError, match="CONSULT_INTAKE_DATABASE_TIMEOUT must be a number of seconds"):
        IntakeSettings.from_environment(PROJECT, environ={"CONSULT_INTAKE_DATABASE_TIMEOUT": "soon"})
    settings = IntakeSettings.from_environment(PROJECT, environ={"CONSULT_INTAKE_DATABASE_URL": "postgresql://intake:s3cret@db/consult"})
    assert settings.database_url.endswith("@db/consult") and "s3cret" not in repr(settings)
