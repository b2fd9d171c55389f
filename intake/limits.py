"""The rate limits as the routes use them: one limiter per kind of request, each with its own limit.

Posts (ideas, comments, topics, supports) and the pages that show what a person sent
(`lookup_limited`) are counted per client address (intake/ratelimit.py says which
address that is); a refused request is a 429 with Retry-After, its message saying how
long to wait. The limits come from settings (`CONSULT_INTAKE_RATE_LIMIT_*`).

Where the buckets live: in the process's memory with the SQLite store (one machine, one web
process per store); in the database when it is shared by several replicas (PostgreSQL), so a
client's budget holds across all of them. A database check is one upsert, run off the event loop;
while the database is unreachable the check lets requests through to the 503 they get anyway.
On SQLite it would cost about 0.3 ms and one more write transaction (and fsync) per post,
outside the store's group commit, for nothing a single process needs: so memory there.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .checks import Rejection
from .db import DatabaseUnavailable
from .ratelimit import RateLimiter, SharedRateLimiter
from .settings import LOOKUP, IntakeSettings
from .store import Store

log = logging.getLogger("consult.intake")


def wait_words(seconds: int) -> str:
    """How long to wait, as a person reads it: "a minute", or whole minutes rounded up."""
    return "a minute" if seconds <= 60 else f"{math.ceil(seconds / 60)} minutes"


class Limiters:
    """The intake's rate limiters by kind (idea, comment, topic, lookup, support, supporter)."""

    def __init__(self, settings: IntakeSettings, shared: Store | None = None):
        """`shared`: the store whose database keeps the buckets (several replicas); None keeps them in memory."""
        self.settings = settings
        if shared is not None and settings.secret_generated:
            log.warning(
                "CONSULT_INTAKE_SECRET is not set: each replica hashes client addresses with its own key, so the rate limits "
                "kept in the database are not shared between replicas. Set it to the same value on every replica."
            )
        self.by_kind: dict[str, RateLimiter | SharedRateLimiter] = {
            kind: RateLimiter(settings.secret, limit, window) if shared is None else SharedRateLimiter(shared, kind, settings.secret, limit, window)
            for kind, (limit, window) in settings.rate_limits.items()
        }

    async def wait_for(self, kind: str, key: str) -> int:
        """Take one from `key`'s bucket for `kind`: 0 when allowed, else the seconds to wait (a database check off the event loop)."""
        limiter = self.by_kind[kind]
        if not limiter.blocking:
            return limiter.wait_for(key)
        try:
            return await run_in_threadpool(limiter.wait_for, key)
        except DatabaseUnavailable:
            # Let it through: whatever it asks for needs the same database, and answers its own 503 (a post's keeping
            # what was typed), so nothing can be stored or shown past the limit meanwhile.
            log.warning("The rate limits could not be checked: the database is unreachable.")
            return 0

    async def check(self, request: Request, kind: str, values: dict[str, str] | None = None) -> None:
        """Count the request against its client's limit for `kind`: a 429 when it is over (`values` fill the form back in)."""
        peer = request.client.host if request.client else "unknown"
        address = self.settings.trusted_proxies.client_address(peer, request.headers.getlist("x-forwarded-for"))
        wait = await self.wait_for(kind, address)
        if wait:
            raise Rejection(
                429, f"You have sent a lot in a short time. Wait {wait_words(wait)}, then send it again.", values, headers={"Retry-After": str(wait)}
            )


def shared_limits(store: Store) -> Store | None:
    """The store whose database keeps the buckets: PostgreSQL's, which replicas share; None (memory) with SQLite."""
    return store if store.db.dialect == "postgresql" else None


def lookup_limited(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Pages that show what a person sent are rate limited per client, so references cannot be guessed quickly."""

    async def limited(request: Request) -> Response:
        limiters: Limiters = request.app.state.intake.limiters
        await limiters.check(request, LOOKUP)
        return await handler(request)

    return limited
