"""The publisher lease: of all the workers sharing one store, exactly one publishes at a time.

Any number of `consult intake` replicas (each with its worker) and `consult intake worker`
processes may share one database. Each worker tries to take a single row,
`publisher_lease`, keyed by name: the holder renews it every RENEW_SECONDS and it
lapses LEASE_SECONDS after the last renewal. Only the holder claims submissions,
syncs editors' decisions and sends emails, so GitHub's budgets (80 writes a minute,
500 an hour) hold for the whole service. When the holder dies, its row lapses and
another worker takes it within LEASE_SECONDS + RENEW_SECONDS (about 20 s); the
forge's look-before-create rules finish whatever the dead one left half made.

The table is migration 2 (intake/migrations.py). Taking and renewing is one atomic upsert (`INSERT … ON CONFLICT … DO UPDATE … WHERE`)
that succeeds only for the current holder or when the row has lapsed, on SQLite and
PostgreSQL alike. Expiry times are wall-clock seconds, so the machines sharing a
database must keep their clocks in step (NTP keeps them within milliseconds; the
lease tolerates a few seconds). A holder counts its lease as held only until
LEASE_SECONDS after it *asked* for it, by its own monotonic clock, so it gives up
before any other worker can see the row as lapsed.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

from .store import Store

log = logging.getLogger("consult.intake")

LEASE_SECONDS = 15.0
"""How long the lease holds without renewal: the longest the service is without a publisher after a crash, plus RENEW_SECONDS."""
RENEW_SECONDS = 5.0
"""How often the holder renews the lease, and how often the others ask for it."""
LEASE_NAME = "publisher"

TAKE = (
    "INSERT INTO publisher_lease (name, holder, expires) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires "
    "WHERE publisher_lease.holder = excluded.holder OR publisher_lease.expires <= ? "
    "RETURNING holder"
)
"""Take the lease when it is free or lapsed, renew it when it is ours; a row comes back only on success."""


def holder_id() -> str:
    """This process, as the lease row names it: host, process id and a random part (process ids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class PublisherLease:
    """One worker's hold on the publisher lease; `start()` keeps asking for it (and renewing it) from a thread."""

    def __init__(
        self, store: Store, name: str = LEASE_NAME, seconds: float = LEASE_SECONDS, renew_every: float = RENEW_SECONDS, holder: str | None = None
    ) -> None:
        self.store, self.name, self.seconds, self.renew_every = store, name, seconds, renew_every
        self.holder = holder or holder_id()
        self._held_until = 0.0
        """Monotonic time until which this worker may publish (0: not held)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        """True while this worker holds the lease (by its own clock, lapsing before the row does)."""
        return time.monotonic() < self._held_until

    def try_take(self) -> bool:
        """Take or renew the lease once; True when this worker holds it afterwards."""
        asked = time.monotonic()
        now = time.time()
        was_held = self.held
        try:
            with self.store.transaction() as conn:
                row = conn.execute(TAKE, (self.name, self.holder, now + self.seconds, now)).fetchone()
        except Exception as exc:  # noqa: BLE001 - the database unreachable: the lease lapses by itself, asked again later
            log.warning("Could not renew the publisher lease: %s", type(exc).__name__)
            row = None
        if row is not None:
            self._held_until = asked + self.seconds
            if not was_held:
                log.info("This worker now holds the publisher lease (%s): it publishes, syncs decisions and sends emails.", self.holder)
        elif was_held and not self.held:
            log.warning("This worker lost the publisher lease (%s): it stops publishing.", self.holder)
        return self.held

    def release(self) -> None:
        """Give the lease up at once (a clean stop), so another worker takes over without waiting for it to lapse."""
        self._held_until = 0.0
        try:
            with self.store.transaction() as conn:
                conn.execute("DELETE FROM publisher_lease WHERE name = ? AND holder = ?", (self.name, self.holder))
        except Exception as exc:  # noqa: BLE001 - it lapses by itself
            log.warning("Could not release the publisher lease: %s", type(exc).__name__)

    def current_holder(self) -> str | None:
        """Who holds the lease now (None when nobody does or it lapsed)."""
        with self.store.db.read() as conn:
            row = conn.execute("SELECT holder, expires FROM publisher_lease WHERE name = ?", (self.name,)).fetchone()
        return row["holder"] if row is not None and row["expires"] > time.time() else None

    def start(self) -> None:
        """Ask for the lease now, then every `renew_every` seconds from a thread of its own until `stop()`."""
        self._stop.clear()
        self.try_take()
        self._thread = threading.Thread(target=self._keep, name="intake-publisher-lease", daemon=True)
        self._thread.start()

    def _keep(self) -> None:
        while not self._stop.wait(self.renew_every):
            self.try_take()

    def stop(self) -> None:
        """Stop renewing and release the lease."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.release()
