"""Staying inside GitHub's limits, for every request a github3.py session makes.

- a client-side budget of content-creating requests (sliding minute and hour),
- one write at a time,
- the primary limit (`x-ratelimit-remaining` / `x-ratelimit-reset`),
- the secondary limits: on 403/429 honour `retry-after`, else wait until the
  reset when nothing remains, else at least 60 s with exponential back-off;
  while waiting, every other request waits too (never keep hammering).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from github3.session import GitHubSession

from .clock import Clock

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MIN_BACKOFF = 60.0
MAX_BACKOFF = 3600.0


def is_content_creating(method: str, url: str) -> bool:
    """Writes count against the secondary limit; minting an App token does not."""
    path = urlsplit(url).path
    if "/app/installations/" in path:
        return False
    return method.upper() in WRITE_METHODS


class Window:
    """Timestamps of recent events, to count them over a sliding period."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.events: collections.deque[float] = collections.deque()

    def wait_needed(self, now: float) -> float:
        while self.events and self.events[0] <= now - self.seconds:
            self.events.popleft()
        if len(self.events) < self.limit:
            return 0.0
        return self.events[0] + self.seconds - now + 1e-3


@dataclass
class Budget:
    """Content-creating requests allowed per minute and per hour (GitHub's 80 and 500)."""

    per_minute: int = 80
    per_hour: int = 500
    margin: float = 1.0
    """Seconds added to each window, for clock skew and latency."""
    windows: list[Window] = field(init=False)

    def __post_init__(self) -> None:
        self.windows = [Window(self.per_minute, 60 + self.margin), Window(self.per_hour, 3600 + self.margin)]

    def acquire(self, clock: Clock) -> None:
        """Sleep until both windows have room, then spend one request."""
        while True:
            now = clock.time()
            wait = max(w.wait_needed(now) for w in self.windows)
            if wait <= 0:
                for w in self.windows:
                    w.events.append(now)
                return
            clock.sleep(wait)


def limit_wait(response: requests.Response, now: float, attempt: int) -> float | None:
    """How long GitHub asks us to wait after this response, or None if it is not a limit."""
    headers = response.headers
    if response.status_code not in (403, 429):
        return None
    remaining = headers.get("x-ratelimit-remaining")
    limited = (
        response.status_code == 429
        or "retry-after" in headers
        or remaining == "0"
        or "rate limit" in response.text.lower()
    )
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

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        creating = is_content_creating(method, url)
        attempt = 0
        while True:
            lock = self.governor.write_lock if creating else _NO_LOCK
            with lock:
                self.governor.before(creating)
                response = super().request(method, url, *args, **kwargs)
                self.governor.observe(response)
            wait = limit_wait(response, self.governor.clock.time(), attempt)
            if wait is None or attempt >= self.governor.max_limit_waits:
                return response
            self.governor.pause(wait)
            attempt += 1


class _NoLock:
    def __enter__(self) -> None: ...

    def __exit__(self, *exc: object) -> None: ...


_NO_LOCK = _NoLock()
