"""GOV.UK Notify's rate limit (3,000 requests a minute per API key), shared through the store.

A token bucket kept in the `notify_limiter` table, so every process sending
with the same key (a second replica, `consult intake worker`) draws on one
budget. The bucket holds at most `burst` requests and refills so that no
window of `window` seconds ever sees more than `limit` requests. Times are wall
clock seconds (time.time()), the one clock every process shares.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..store import Store
from .queue import transaction

NOTIFY_LIMIT = 3000
NOTIFY_WINDOW = 60.0

SET_BUCKET = (
    "INSERT INTO notify_limiter (name, tokens, updated) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated"
)


class Limiter:
    def __init__(
        self,
        store: Store,
        limit: int = NOTIFY_LIMIT,
        window: float = NOTIFY_WINDOW,
        burst: int = 50,
        name: str = "notify",
        now: Callable[[], float] = time.time,
    ):
        if not 0 < burst < limit:
            raise ValueError("the burst must be above 0 and below the limit")
        self.store, self.name, self.now = store, name, now
        self.burst = float(burst)
        self.rate = (limit - burst) / window
        """Tokens per second: a full bucket plus a window's refill is exactly `limit`."""

    def acquire(self) -> float:
        """Take one request from the budget: 0.0 when taken, else the seconds to wait before asking again."""
        with transaction(self.store) as conn:
            now = self.now()
            row = conn.execute("SELECT tokens, updated FROM notify_limiter WHERE name = ?" + self.store.db.for_update, (self.name,)).fetchone()
            tokens, updated = (self.burst, now) if row is None else (row["tokens"], row["updated"])
            if now < updated:  # paused (Notify answered 429) until `updated`
                return updated - now
            tokens = min(self.burst, tokens + (now - updated) * self.rate)
            if tokens < 1.0:
                conn.execute(SET_BUCKET, (self.name, tokens, now))
                return (1.0 - tokens) / self.rate
            conn.execute(SET_BUCKET, (self.name, tokens - 1.0, now))
            return 0.0

    def paused_for(self) -> float:
        """Seconds left of a pause (0.0 when there is none), without taking anything from the budget."""
        with self.store.db.read() as conn:
            row = conn.execute("SELECT updated FROM notify_limiter WHERE name = ?", (self.name,)).fetchone()
        return max(0.0, row["updated"] - self.now()) if row is not None else 0.0

    def pause(self, seconds: float) -> None:
        """Let no process send for `seconds` (Notify said 429), then start again from an empty bucket."""
        with transaction(self.store) as conn:
            conn.execute(SET_BUCKET, (self.name, 0.0, self.now() + seconds))
