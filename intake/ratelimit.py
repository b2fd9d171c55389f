"""The rate limit on posts, and which address it counts: the client's, even behind a reverse proxy.

The client address is the connection's peer, unless that peer is a trusted proxy
(`CONSULT_INTAKE_TRUSTED_PROXIES`, none by default): then it is the right-most hop
of `X-Forwarded-For` that is not itself a trusted proxy. Hops to the left of it
were written by the client and are never believed, so rotating the header does
not escape the limit, and clients behind one proxy do not share one bucket.
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

from generator.errors import ConsultError

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


class RateLimiter:
    """Token buckets per client address: `limit` posts at once, refilled at `limit` per `window` seconds.

    Addresses are HMAC-hashed with the secret and kept only in memory.
    """

    def __init__(self, secret: bytes, limit: int, window: float):
        self.secret, self.limit, self.window = secret, limit, window
        self.buckets: dict[bytes, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def wait_for(self, address: str) -> int:
        """Take one post from the address's bucket: 0 when allowed, else the whole seconds until it would be."""
        if self.limit <= 0:
            return 0
        key = hmac.new(self.secret, address.encode(), hashlib.sha256).digest()
        now = time.monotonic()
        rate = self.limit / self.window
        with self.lock:
            tokens, last = self.buckets.get(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self.buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self.buckets) > 50_000:
                self._forget_full(now, rate)
        return 0 if allowed else max(1, math.ceil((1.0 - tokens) / rate))

    def _forget_full(self, now: float, rate: float) -> None:
        for key, (tokens, last) in list(self.buckets.items()):
            if tokens + (now - last) * rate >= self.limit:
                del self.buckets[key]
