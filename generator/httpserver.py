"""How `consult serve` and `consult intake` run uvicorn: settings for a public network.

uvicorn's defaults suit development. In front of the public they leave three gaps,
closed here for both commands:

- It trusts `X-Forwarded-For` from loopback peers (`proxy_headers`), so anyone who
  can reach it through a local proxy chooses their own client address. It is off:
  the intake reads forwarded headers itself, from the proxies it is told to trust
  (`CONSULT_INTAKE_TRUSTED_PROXIES`, see intake/ratelimit.py).
- A connection that never finishes its request headers is kept open for ever (its
  keep-alive timer starts only after a first response). `GuardedH11Protocol` closes
  it after `HEADER_TIMEOUT` seconds, however slowly the bytes trickle in.
- A request with both `Content-Length` and `Transfer-Encoding` is read by the
  transfer coding and the connection kept; a proxy that reads the length instead
  sees a different request (smuggling). `RequestGuard` answers 400 and closes the
  connection (RFC 9112 section 6.1).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("consult.http")

HEADER_TIMEOUT = 10.0
"""Seconds a connection may take to send a request's headers (from when it opens or its last answer ends)."""
KEEP_ALIVE_TIMEOUT = 5
"""Seconds an idle keep-alive connection stays open."""
MAX_HEADER_BYTES = 16 * 1024
"""Largest request head (request line and headers) read before answering 400."""


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers do not arrive in time."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request line and headers are in
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class RequestGuard:
    """ASGI middleware: refuses ambiguous request framing and turns a client's early hang-up into one log line."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        names = {name.lower() for name, _ in scope["headers"]}
        if b"content-length" in names and b"transfer-encoding" in names:
            await refuse_framing(send)
            return
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            log.info("A client closed the connection before sending the whole request (%s %s); nothing was kept.", scope["method"], scope["path"])


async def refuse_framing(send: Send) -> None:
    body = b"A request must not carry both Content-Length and Transfer-Encoding. Send one of them.\n"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def server_config(app: ASGIApp, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for the consult commands (and the tests, which run the same)."""
    settings: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": GuardedH11Protocol,
        "proxy_headers": False,
        "server_header": False,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "log_level": "warning",
        "access_log": False,  # an access log would write client addresses, which must not reach a log line
        **options,
    }
    return uvicorn.Config(RequestGuard(app), **settings)


def run(app: ASGIApp, host: str, port: int) -> None:
    """Serve app on host:port until interrupted."""
    uvicorn.Server(server_config(app, host, port)).run()
