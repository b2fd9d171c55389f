"""The intake's database: SQLite in the data folder (the default), or PostgreSQL for several replicas.

Both implementations hand out the same connection-like object, from `db.transaction()` (one write transaction)
and `db.read()` (reads, each statement on its own):

- `.execute(sql, params=())` and `.executemany(sql, seq)` return a cursor with `.fetchone()`, `.fetchall()`,
  `.rowcount` and iteration;
- SQL is written once, with `?` placeholders (turned into `%s` for PostgreSQL), in the subset both engines run
  (`INSERT … ON CONFLICT … DO NOTHING / DO UPDATE`, `RETURNING`, `COALESCE`; no `PRAGMA`, no `INSERT OR …`, no
  `json_extract`, no two-argument `MAX`/`MIN`);
- rows are read by column name only (`row["n"]`, so write `SELECT COUNT(*) AS n`).

SQLite is exactly what the intake always ran: WAL, `synchronous=FULL` (every commit fsynced), `secure_delete`, one
connection per thread, `BEGIN IMMEDIATE` write transactions queued behind one process-wide lock. PostgreSQL goes
through a psycopg 3 connection pool; a server that cannot be reached raises `DatabaseUnavailable`, which the app
turns into a 503 page.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from generator.errors import ConsultError

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

    from .settings import IntakeSettings

SCHEMES = ("postgresql", "postgres")
"""URL schemes of CONSULT_INTAKE_DATABASE_URL that select PostgreSQL."""

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for PostgreSQL (a connection, or a free one from the pool) before the request gets a 503."""


class DatabaseUnavailable(ConsultError):
    """The database could not be reached: nothing was stored, and the person is asked to try again later."""


class Cursor(Protocol):
    """What `execute` returns: rows read by column name."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The connection-like object `transaction()` and `read()` give."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]], /) -> Cursor: ...


def redacted(url: str) -> str:
    """`postgresql://user:secret@host:5432/db?x=y` → `postgresql://user@host:5432/db`: safe to print and log."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def check_url(url: str) -> str:
    """The URL itself when it names a PostgreSQL database; else a ConsultError saying what is accepted."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        shown = f"a {scheme}:// URL" if scheme else repr(url.split("@")[-1][:40])
        raise ConsultError(
            f"CONSULT_INTAKE_DATABASE_URL must be a PostgreSQL URL such as postgresql://intake@db.internal:5432/intake "
            f"(the password in PGPASSWORD or ~/.pgpass), or unset for the SQLite file in the data folder; found {shown}"
        )
    try:
        port = urlsplit(url).port
    except ValueError:
        port = -1
    if port == -1:
        raise ConsultError(
            "CONSULT_INTAKE_DATABASE_URL has a port that is not a number from 1 to 65535: write it as postgresql://user@host:5432/database"
        )
    return url


class Database(ABC):
    """One of the two engines; everything the store and its neighbours need to run the same SQL on both."""

    dialect: str
    """`sqlite` or `postgresql`: which DDL a migration runs."""
    skip_locked: str = ""
    """Appended to a `SELECT` that claims work: `FOR UPDATE SKIP LOCKED` on PostgreSQL, nothing on SQLite (whose
    `BEGIN IMMEDIATE` already lets one writer at a time)."""
    for_update: str = ""
    """Appended to a `SELECT` whose row is then updated: `FOR UPDATE` on PostgreSQL, nothing on SQLite."""

    errors: tuple[type[Exception], ...]
    """What its operations raise when the database fails (a retry may succeed)."""
    transient: tuple[type[Exception], ...] = ()
    """Failures of one transaction that the same transaction, run again, gets past (PostgreSQL: a deadlock with
    another process, a serialization failure); none on SQLite, where one writer runs at a time."""
    write_lock: threading.RLock
    """This process's writers take turns here (SQLite: instead of sleeping in SQLite's busy handler)."""

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""

    @abstractmethod
    def read(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for reads (and single-statement writes), each statement committed on its own."""

    @abstractmethod
    def snapshot(self) -> contextlib.AbstractContextManager[Connection]:
        """Reads that all see the database as it was at one moment."""

    @abstractmethod
    def lock(self, conn: Connection, table: str) -> None:
        """Inside a transaction: let no other writer change `table` until it ends (a count-then-insert stays exact)."""

    def lock_names(self, conn: Connection, names: Iterable[str]) -> None:
        """Inside a transaction: wait for, then hold until it ends, a lock on each name (e.g. the ideas a batch of
        supports changes), always taken in one order, so writers of overlapping names never deadlock. Nothing to do on
        SQLite, whose `BEGIN IMMEDIATE` lets one writer in at a time."""

    @abstractmethod
    def data_version(self) -> int:
        """A number that changes whenever anything is committed (by this process or another)."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, for messages and logs (never a password)."""

    def check(self) -> None:
        """Raise DatabaseUnavailable, with the reason, unless the database answers now."""

    def close(self) -> None:
        """Release connections (the database itself stays)."""


# -- SQLite ---------------------------------------------------------------------------------


def sqlite_connect(path: Path) -> sqlite3.Connection:
    """A connection with the intake's settings: WAL, every commit fsynced, deleted data overwritten."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteDatabase(Database):
    """The SQLite file in the intake's data folder; several processes may share it."""

    dialect = "sqlite"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            path.parent.chmod(0o700)
        self._local = threading.local()
        self.write_lock = threading.RLock()
        self._version_conn: sqlite3.Connection | None = None
        self._version_lock = threading.Lock()

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: each statement outside `transaction()` commits on its own)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = sqlite_connect(self.path)
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        conn = self.conn
        with self.write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        yield self.conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
        conn = self.conn
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def lock(self, conn: Connection, table: str) -> None:
        """Nothing to do: `BEGIN IMMEDIATE` already holds the only write lock SQLite has."""

    def data_version(self) -> int:
        # PRAGMA data_version changes only for commits made by *other* connections, so it is read on one of its own
        # that never writes.
        with self._version_lock:
            if self._version_conn is None:
                self._version_conn = sqlite_connect(self.path)
            return int(self._version_conn.execute("PRAGMA data_version").fetchone()[0])

    def checkpoint(self) -> None:
        """Fold the write-ahead log back into the file, so deleted data leaves it at once."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def describe(self) -> str:
        return f"SQLite database {self.path}"

    def close(self) -> None:
        with self._version_lock:
            if self._version_conn is not None:
                self._version_conn.close()
                self._version_conn = None


# -- PostgreSQL -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def to_format(sql: str) -> str:
    """`?` placeholders → psycopg's `%s`, and a literal `%` → `%%`; quoted text and identifiers left alone."""
    out: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out)


class _Rows:
    """Rows already fetched (the connection has gone back to the pool): what a cursor gives."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PostgresConnection:
    """A psycopg connection that takes `?` placeholders and returns rows as dictionaries."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        return self.raw.execute(to_format(sql), tuple(params))

    def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]], /) -> Cursor:
        cur = self.raw.cursor()
        total = 0
        query = to_format(sql)
        for params in seq_of_params:  # one statement each, so rowcount is the sum, as on SQLite
            cur.execute(query, tuple(params))
            total += max(cur.rowcount, 0)
        return _Rows([], total)


class PostgresDatabase(Database):
    """A PostgreSQL database shared by every intake process, through a pool of connections."""

    dialect = "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    for_update = " FOR UPDATE"

    def __init__(self, url: str, pool_size: int = 8, timeout: float = CONNECT_TIMEOUT) -> None:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.errors = (psycopg.Error, DatabaseUnavailable)
        self.transient = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
        self.url = check_url(url)
        self.timeout = timeout
        self.write_lock = threading.RLock()
        self.pool: ConnectionPool[Any] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            timeout=timeout,
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": max(1, round(timeout)), "application_name": "consult-intake"},
            check=ConnectionPool.check_connection,
            reconnect_timeout=0,
            open=False,
            name="consult-intake",
        )
        self.pool.open(wait=False)

    def describe(self) -> str:
        return f"PostgreSQL database {redacted(self.url)}"

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; DatabaseUnavailable when none can be had or the server goes away meanwhile."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection(timeout=self.timeout) as conn:
                yield conn
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
            raise  # the server is there: the caller may run the transaction again (`transient`)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise DatabaseUnavailable(f"Could not reach the {self.describe()}: {first_line(exc)}") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._connection() as conn, conn.transaction():
            yield PostgresConnection(conn)

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self._connection() as conn:
            yield PostgresConnection(conn)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PostgresConnection(conn)

    def check(self) -> None:
        """Connect once, outside the pool, so a database that cannot be reached is named with libpq's own reason
        (refused, no such database, authentication failed): DatabaseUnavailable."""
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=max(1, round(self.timeout))) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise DatabaseUnavailable(
                f"Could not reach the {self.describe()}: {first_line(exc)}. Check that PostgreSQL runs there, that the "
                "database and user exist, and the password (PGPASSWORD or ~/.pgpass); then try again"
            ) from exc

    def lock_names(self, conn: Connection, names: Iterable[str]) -> None:
        for key in sorted({advisory_key(name) for name in names}):
            conn.execute("SELECT pg_advisory_xact_lock(?) AS locked", (key,))

    def lock(self, conn: Connection, table: str) -> None:
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")
        conn.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")

    def data_version(self) -> int:
        # The write-ahead log's position moves with every commit to the cluster: a change now and then that is not
        # ours only costs the caller a second look.
        with self.read() as conn:
            return int(conn.execute("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS v").fetchone()["v"])

    def close(self) -> None:
        self.pool.close()


class AutocommitReader:
    """`execute` on a pooled connection borrowed for one statement, rows fetched at once: `Store.conn` on PostgreSQL."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        with self.db.read() as conn:
            cur = conn.execute(sql, params)
            rows = cur.fetchall() if getattr(cur, "description", None) else []
            return _Rows(rows, cur.rowcount)

    def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]], /) -> Cursor:
        with self.db.transaction() as conn:
            return conn.executemany(sql, seq_of_params)


def advisory_key(name: str) -> int:
    """A PostgreSQL advisory lock number for a name: 64 bits of its SHA-256, the same in every process."""
    return int.from_bytes(hashlib.sha256(b"consult-lock:" + name.encode()).digest()[:8], "big", signed=True)


def first_line(exc: BaseException) -> str:
    """An error's first line (psycopg's messages go on with hints and context)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def connect(url: str, sqlite_path: Path, pool_size: int = 8, timeout: float = CONNECT_TIMEOUT) -> Database:
    """PostgreSQL when `url` is set (it must be a postgresql:// URL), else SQLite at `sqlite_path`."""
    if url:
        return PostgresDatabase(url, pool_size=pool_size, timeout=timeout)
    return SqliteDatabase(sqlite_path)


def open_database(settings: IntakeSettings) -> Database:
    """The database the settings name: `CONSULT_INTAKE_DATABASE_URL`, else the SQLite file in the data folder.

    Raises DatabaseUnavailable, naming host and database (never the password) and why, when PostgreSQL cannot be reached."""
    db = connect(settings.database_url, settings.db_path, settings.database_pool_size, settings.database_timeout)
    try:
        db.check()
    except DatabaseUnavailable:
        db.close()
        raise
    return db
