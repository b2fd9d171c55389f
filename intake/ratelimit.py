"""The rate limit on posts, and which address it counts: the client's, even behind a reverse proxy.

The client address is the connection's peer, unless that peer is a trusted proxy
(`CONSULT_INTAKE_TRUSTED_PROXIES`, none by default): then it is the right-most hop
of `X-Forwarded-For` that is not itself a trusted proxy. Hops to the left of it
were written by the client and are never believed, so rotating the header does
not escape the limit, and clients behind one proxy do not share one bucket.

Each limit is a token bucket per client, keyed by an HMAC of the address (never the address
itself). `RateLimiter` keeps the buckets in the process's memory: enough for one web
process. `SharedRateLimiter` keeps them in the database, so replicas sharing it share each
client's budget: one atomic upsert per check (the caller runs it off the event loop).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.errors import ConsultError

if TYPE_CHECKING:
    from .store import Store

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedProxies:
    """The networks whose `X-Forwarded-For` is believed."""

    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """`10.0.0.5 192.168.0.0/24, ::1` → those networks (spaces or commas between)."""
        networks = []
        for item in text.replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ConsultError(
                    f"CONSULT_INTAKE_TRUSTED_PROXIES: {item!r} is not an IP address or network (expected e.g. 10.0.0.5 or 10.0.0.0/24, separated by spaces)"
                ) from None
        return cls(tuple(networks))

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_address(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The address to count: the peer, or the right-most untrusted hop the trusted proxies forwarded."""
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
        for hop in reversed(hops):
            if hop and not self.trusts(hop):
                return hop
        return peer


def client_key(secret: bytes, address: str) -> bytes:
    """What a bucket is keyed by: an HMAC of the address (or browser token) with the intake's secret."""
    return hmac.new(secret, address.encode(), hashlib.sha256).digest()


def wait_seconds(tokens: float, rate: float) -> int:
    """Whole seconds until a bucket holding `tokens` (< 1) has one again."""
    return max(1, math.ceil((1.0 - tokens) / rate))


class RateLimiter:
    """Token buckets per client address: `limit` posts at once, refilled at `limit` per `window` seconds.

    Addresses are HMAC-hashed with the secret and kept only in memory.
    """

    blocking = False
    """Cheap enough to run on the event loop."""

    def __init__(self, secret: bytes, limit: int, window: float):
        self.secret, self.limit, self.window = secret, limit, window
        self.buckets: dict[bytes, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def wait_for(self, address: str) -> int:
        """Take one post from the address's bucket: 0 when allowed, else the whole seconds until it would be."""
        if self.limit <= 0:
            return 0
        key = client_key(self.secret, address)
        now = time.monotonic()
        rate = self.limit / self.window
        with self.lock:
            tokens, last = self.buckets.get(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self.buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self.buckets) > 50_000:
                self._forget_full(now, rate)
        return 0 if allowed else wait_seconds(tokens, rate)

    def _forget_full(self, now: float, rate: float) -> None:
        for key, (tokens, last) in list(self.buckets.items()):
            if tokens + (now - last) * rate >= self.limit:
                del self.buckets[key]


_ELAPSED = "(CASE WHEN excluded.updated > rate_buckets.updated THEN excluded.updated - rate_buckets.updated ELSE 0 END)"
_REFILLED = f"(rate_buckets.tokens + {_ELAPSED} * ?)"
_CAPPED = f"(CASE WHEN {_REFILLED} > ? THEN ? ELSE {_REFILLED} END)"
"""The bucket refilled at `rate` up to `limit` (parameters: rate, limit, limit, rate); CASE, as MIN(a, b) is not portable."""
TAKE_TOKEN = (
    "INSERT INTO rate_buckets (kind, client, tokens, updated, allowed) VALUES (?, ?, ?, ?, 1) "
    "ON CONFLICT (kind, client) DO UPDATE SET "
    f"tokens = CASE WHEN {_CAPPED} >= 1 THEN {_CAPPED} - 1 ELSE {_CAPPED} END, "
    f"allowed = CASE WHEN {_CAPPED} >= 1 THEN 1 ELSE 0 END, "
    "updated = CASE WHEN excluded.updated > rate_buckets.updated THEN excluded.updated ELSE rate_buckets.updated END "
    "RETURNING tokens, allowed"
)
"""One check as one atomic statement: a new client starts with a full bucket less one; a known one is refilled for
the time since, then gives a token if it has one. A clock behind the last writer's refills nothing (never drains)."""


class SharedRateLimiter:
    """Token buckets kept in the database (table `rate_buckets`, migration 2), so every replica sharing it counts one client's posts together.

    Same answers as `RateLimiter`; each check is one upsert (blocking: run it off the event loop). Buckets that have
    been full again for a whole window are deleted now and then.
    """

    blocking = True

    def __init__(self, store: Store, kind: str, secret: bytes, limit: int, window: float, sweep_every: float = 60.0):
        self.store, self.kind, self.secret, self.limit, self.window = store, kind, secret, limit, window
        self.sweep_every = sweep_every
        self._swept = time.monotonic()

    def wait_for(self, address: str) -> int:
        """Take one post from the address's bucket: 0 when allowed, else the whole seconds until it would be."""
        if self.limit <= 0:
            return 0
        rate = self.limit / self.window
        capped = (rate, self.limit, self.limit, rate)
        params = (self.kind, client_key(self.secret, address).hex(), self.limit - 1.0, time.time(), *capped * 4)
        with self.store.transaction() as conn:
            if self.store.db.dialect == "postgresql":  # no wait for the disk: a bucket lost in a crash only refills early
                conn.execute("SET LOCAL synchronous_commit = off")
            row = conn.execute(TAKE_TOKEN, params).fetchone()
        if time.monotonic() - self._swept > self.sweep_every:
            self.sweep()
        return 0 if row["allowed"] else wait_seconds(row["tokens"], rate)

    def sweep(self) -> int:
        """Delete the buckets untouched for a whole window (they are full again, as a missing one is); returns how many."""
        self._swept = time.monotonic()
        with self.store.transaction() as conn:
            return conn.execute("DELETE FROM rate_buckets WHERE kind = ? AND updated < ?", (self.kind, time.time() - self.window)).rowcount
