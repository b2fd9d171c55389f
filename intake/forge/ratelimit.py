"""Staying inside GitHub's limits, for every request a github3.py session makes.

- a client-side budget of content-creating requests (sliding minute and hour),
  counted in a ledger: in memory for one process, or in the intake's store
  (`StoreWriteLedger`, SQLite or PostgreSQL) so that a restarted process, a second replica or a
  takeover counts the writes the others made in the last hour,
- one write at a time,
- the primary limit (`x-ratelimit-remaining` / `x-ratelimit-reset`),
- the secondary limits: on 403/429 honour `retry-after`, else wait until the
  reset when nothing remains, else at least 60 s with exponential back-off;
  while waiting, every other request waits too (never keep hammering).
  Every limit response is logged with its `Retry-After`.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import requests
from github3.session import GitHubSession

from .clock import Clock

if TYPE_CHECKING:
    from ..db import Database

log = logging.getLogger("consult.intake")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MIN_BACKOFF = 60.0
MAX_BACKOFF = 3600.0


def is_content_creating(method: str, url: str) -> bool:
    """Writes count against the secondary limit; minting an App token does not."""
    path = urlsplit(url).path
    if "/app/installations/" in path:
        return False
    return method.upper() in WRITE_METHODS


class WriteLedger(Protocol):
    """Where the content-creating requests of the last hour are counted."""

    def reserve(self, now: float, windows: Sequence[tuple[int, float]]) -> float:
        """Record one write at `now` if every (limit, seconds) window has room and return 0; else return how
        many seconds to wait before asking again (nothing recorded)."""
        ...

    def count_since(self, since: float) -> int:
        """Writes recorded after `since`."""
        ...


def _wait_for_room(times: Sequence[float], now: float, limit: int, seconds: float) -> float:
    """Seconds until a window of `seconds` ending after now holds fewer than `limit` of `times` (oldest first)."""
    inside = [t for t in times if t > now - seconds]
    if len(inside) < limit:
        return 0.0
    return inside[len(inside) - limit] + seconds - now + 1e-3


class MemoryWriteLedger:
    """The writes of this process only: for a single process, tests and simulations."""

    def __init__(self) -> None:
        self.events: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def reserve(self, now: float, windows: Sequence[tuple[int, float]]) -> float:
        with self._lock:
            longest = max(seconds for _, seconds in windows)
            while self.events and self.events[0] <= now - longest:
                self.events.popleft()
            times = list(self.events)
            wait = max(_wait_for_room(times, now, limit, seconds) for limit, seconds in windows)
            if wait <= 0:
                self.events.append(now)
            return wait

    def count_since(self, since: float) -> int:
        with self._lock:
            return sum(1 for t in self.events if t > since)


class StoreWriteLedger:
    """The writes of every process sharing the intake's store (SQLite or PostgreSQL), kept for the longest window.

    Reserving is one transaction that locks the table, counts, then inserts, so two processes can never both take
    the last slot; a process killed after a write leaves its row behind, and whoever comes next waits for it to
    age out. The table `forge_writes` is made by the store's migrations (intake/migrations.py).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()

    def reserve(self, now: float, windows: Sequence[tuple[int, float]]) -> float:
        longest = max(seconds for _, seconds in windows)
        with self._lock, self.db.transaction() as conn:
            self.db.lock(conn, "forge_writes")
            conn.execute("DELETE FROM forge_writes WHERE at <= ?", (now - longest,))
            times = [row["at"] for row in conn.execute("SELECT at FROM forge_writes ORDER BY at").fetchall()]
            wait = max(_wait_for_room(times, now, limit, seconds) for limit, seconds in windows)
            if wait <= 0:
                conn.execute("INSERT INTO forge_writes (at) VALUES (?)", (now,))
        return wait

    def count_since(self, since: float) -> int:
        with self.db.read() as conn:
            row = conn.execute("SELECT COUNT(*) AS n FROM forge_writes WHERE at > ?", (since,)).fetchone()
        return int(row["n"])


@dataclass
class Budget:
    """Content-creating requests allowed per minute and per hour (GitHub's 80 and 500)."""

    per_minute: int = 80
    per_hour: int = 500
    margin: float = 1.0
    """Seconds added to each window, for clock skew and latency."""
    ledger: WriteLedger = field(default_factory=MemoryWriteLedger)
    """Where writes are counted: this process's memory, or the store shared by every intake process."""

    @property
    def windows(self) -> tuple[tuple[int, float], tuple[int, float]]:
        return (self.per_minute, 60 + self.margin), (self.per_hour, 3600 + self.margin)

    def acquire(self, clock: Clock) -> None:
        """Sleep until both windows have room, then spend one request."""
        while True:
            wait = self.ledger.reserve(clock.time(), self.windows)
            if wait <= 0:
                return
            clock.sleep(wait)

    def left_this_hour(self, now: float) -> int:
        """Writes the hourly window still has room for."""
        limit, seconds = self.windows[1]
        return max(0, limit - self.ledger.count_since(now - seconds))


def limit_wait(response: requests.Response, now: float, attempt: int) -> float | None:
    """How long GitHub asks us to wait after this response, or None if it is not a limit."""
    headers = response.headers
    if response.status_code not in (403, 429):
        return None
    remaining = headers.get("x-ratelimit-remaining")
    limited = response.status_code == 429 or "retry-after" in headers or remaining == "0" or "rate limit" in response.text.lower()
    if not limited:
        return None
    if "retry-after" in headers:
        return max(1.0, float(headers["retry-after"]))
    if remaining == "0" and "x-ratelimit-reset" in headers:
        return max(1.0, float(headers["x-ratelimit-reset"]) - now + 1)
    return min(MAX_BACKOFF, MIN_BACKOFF * 2**attempt)


class Governor:
    """Shared limit state for one GitHub client: budget, primary limit, pauses, write lock."""

    def __init__(self, clock: Clock, budget: Budget, max_limit_waits: int = 8) -> None:
        self.clock, self.budget, self.max_limit_waits = clock, budget, max_limit_waits
        self.write_lock = threading.RLock()
        self.state_lock = threading.Lock()
        self.paused_until = 0.0
        self.remaining: int | None = None
        self.reset_at = 0.0
        self.waits: list[float] = []
        """Every limit wait taken, in seconds (for tests and reports)."""

    def before(self, creating: bool) -> None:
        """Wait for pauses, the primary reset, and (for writes) the budget."""
        with self.state_lock:
            until = self.paused_until
            if self.remaining == 0:
                until = max(until, self.reset_at + 1)
        now = self.clock.time()
        if until > now:
            self.clock.sleep(until - now)
        if creating:
            self.budget.acquire(self.clock)

    def observe(self, response: requests.Response) -> None:
        headers = response.headers
        with self.state_lock:
            if "x-ratelimit-remaining" in headers:
                self.remaining = int(headers["x-ratelimit-remaining"])
            if "x-ratelimit-reset" in headers:
                self.reset_at = float(headers["x-ratelimit-reset"])

    def pause(self, seconds: float) -> None:
        with self.state_lock:
            self.waits.append(seconds)
            self.paused_until = max(self.paused_until, self.clock.time() + seconds)


class GovernedSession(GitHubSession):
    """A github3.py session whose every request goes through a Governor."""

    def __init__(self, governor: Governor, timeout: tuple[float, float] = (4.0, 10.0)) -> None:
        super().__init__(default_connect_timeout=timeout[0], default_read_timeout=timeout[1])
        self.governor = governor

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        creating = is_content_creating(method, url)
        attempt = 0
        while True:
            lock = self.governor.write_lock if creating else _NO_LOCK
            with lock:
                self.governor.before(creating)
                response = super().request(method, url, *args, **kwargs)
                self.governor.observe(response)
            wait = limit_wait(response, self.governor.clock.time(), attempt)
            if wait is None:
                return response
            log.warning(
                "GitHub refused %s %s with %d (a rate limit); Retry-After: %s, x-ratelimit-remaining: %s. %s",
                method.upper(),
                urlsplit(url).path,
                response.status_code,
                response.headers.get("retry-after", "none"),
                response.headers.get("x-ratelimit-remaining", "not given"),
                "Giving up on this request after every wait." if attempt >= self.governor.max_limit_waits else f"Every request waits {wait:.0f} s.",
            )
            if attempt >= self.governor.max_limit_waits:
                return response
            self.governor.pause(wait)
            attempt += 1


class _NoLock:
    def __enter__(self) -> None: ...

    def __exit__(self, *exc: object) -> None: ...


_NO_LOCK = _NoLock()
