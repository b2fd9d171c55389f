"""How the consult commands run uvicorn: forwarded headers ignored, slow headers cut off, ambiguous framing refused."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from generator.cli import main
from generator.httpserver import GuardedH11Protocol, RequestGuard, server_config
from tests.intake.conftest import free_port, serve_app


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"client": request.client.host if request.client else None, "scheme": request.url.scheme, "bytes": len(body)})


APP = Starlette(routes=[Route("/", echo, methods=["GET", "POST"])])


class QuickHeaders(GuardedH11Protocol):
    header_timeout = 0.5


def exchange(url: str, raw: bytes, wait: float = 5.0) -> tuple[bytes, bool]:
    """Send raw bytes; return what came back and whether the server closed the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(raw)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            return data, False
    return data, True


def test_forwarded_headers_are_not_believed() -> None:
    with serve_app(APP, free_port()) as url:
        head = "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\nForwarded: for=198.51.100.7\r\nConnection: close\r\n\r\n"
        data, _ = exchange(url, head.encode())
    assert b'"client":"127.0.0.1"' in data and b'"scheme":"http"' in data


def test_content_length_with_transfer_encoding_closes_the_connection() -> None:
    smuggled = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"0\r\n\r\n" + smuggled
    head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    with serve_app(APP, free_port()) as url:
        data, closed = exchange(url, head + body)
    assert data.startswith(b"HTTP/1.1 400 ") and b"connection: close" in data.lower()
    assert b"must not carry both Content-Length and Transfer-Encoding" in data
    assert closed and data.count(b"HTTP/1.1") == 1, "the smuggled request is never answered"


def test_either_framing_alone_is_served() -> None:
    with serve_app(APP, free_port()) as url:
        chunked, _ = exchange(url, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        length, _ = exchange(url, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
    assert chunked.startswith(b"HTTP/1.1 200 ") and b'"bytes":3' in chunked
    assert length.startswith(b"HTTP/1.1 200 ") and b'"bytes":3' in length


def read_response(sock: socket.socket) -> bytes:
    """One whole response (head and Content-Length body) from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def trickle_until_closed(sock: socket.socket, seconds: float = 2.0) -> bool:
    """Send a header byte every 0.1 s (never idle, never done); True when the server closes the connection meanwhile."""
    sock.settimeout(0.1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sock.sendall(b"X")
            if sock.recv(1024) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def slow_server(port: int) -> uvicorn.Server:
    return uvicorn.Server(server_config(APP, "127.0.0.1", port, http=QuickHeaders))


def test_headers_that_never_finish_are_cut_off() -> None:
    import threading

    port = free_port()
    server = slow_server(port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            assert trickle_until_closed(sock), "a fresh connection's headers are timed"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(0.2)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200 "), "prompt requests on a kept-alive connection are served"
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            assert trickle_until_closed(sock), "so are the headers of each later request"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_production_settings() -> None:
    config = server_config(APP, "127.0.0.1", 1)
    assert config.proxy_headers is False and config.http is GuardedH11Protocol and isinstance(config.app, RequestGuard)
    assert config.timeout_keep_alive == 5 and config.access_log is False and config.server_header is False


@pytest.mark.parametrize("command", [["intake"], ["serve", "--no-intake"]])
def test_both_commands_start_uvicorn_with_these_settings(command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import copy_sample

    started: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: started.append(self.config))
    monkeypatch.setenv("CONSULT_INTAKE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    root = copy_sample(tmp_path / "repo")
    result = CliRunner().invoke(main, ["--root", str(root), *command, "--port", str(free_port())])
    assert result.exit_code == 0, result.output
    assert len(started) == 1
    assert started[0].proxy_headers is False and started[0].http is GuardedH11Protocol and isinstance(started[0].app, RequestGuard)


def test_a_client_leaving_mid_body_is_one_line_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    errors: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = errors.append  # type: ignore[method-assign]
    logging.getLogger("uvicorn.error").addHandler(handler)
    caplog.set_level(logging.INFO, logger="consult.http")
    try:
        with serve_app(APP, free_port()) as url:
            host, port = url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a little")
                time.sleep(0.3)
            deadline = time.monotonic() + 5
            while not caplog.records and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        logging.getLogger("uvicorn.error").removeHandler(handler)
    notices = [r for r in caplog.records if r.name == "consult.http"]
    assert [r.getMessage() for r in notices] == ["A client closed the connection before sending the whole request (POST /); nothing was kept."]
    assert not any(r.exc_info for r in [*notices, *errors]) and not [r for r in errors if r.levelno >= logging.ERROR]
