"""Browser fixtures: the built sample site served on 127.0.0.1, one shared headless Chromium.

Debian's chromium is driven through Playwright's bundled driver; no browser
is downloaded. Each test module opens one browser context for its kind of
check (JavaScript off, print media, a given viewport...), and a fresh page
in it per page type.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from generator.build import BuildResult
from generator.serve import Rebuilder, create_app
from tests.conftest import BUILD_NOW

PROJECT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT / "test-artifacts"
AXE_JS = PROJECT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("CONSULT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class RequestLog:
    """Every request the test server answered, as (method, path, status), in order."""

    entries: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self) -> int:
        with self.lock:
            return len(self.entries)

    def since(self, mark: int) -> list[tuple[str, str, int]]:
        with self.lock:
            return list(self.entries[mark:])


def recording(app, log: RequestLog):
    """ASGI middleware that records what the server was asked for: what a browser really downloaded."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        status = 0

        async def send_and_note(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_and_note)
        finally:
            path = scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
            with log.lock:
                log.entries.append((scope["method"], path, status))

    return wrapped


def intake_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("intake.app") is not None and importlib.util.find_spec("intake.settings") is not None


@dataclass
class LiveSite:
    base_url: str
    output: Path
    requests: RequestLog
    with_intake: bool
    intake_store: Any = None
    """The intake's store (intake.store.Store), to put a submission in a given state; None without the intake."""


def site_app(root: Path, output: Path, base_url: str, data_dir: Path):
    """`consult serve`'s app over the built site, with the intake mounted in front when it exists (and its store).

    The intake runs without its publisher worker: publishing would rebuild the
    session's shared site while other tests read it.
    """
    static = create_app(root, output, Rebuilder(root, output, base_url), with_intake=False)
    if not intake_available():
        return static, None
    from intake.app import create_app as create_intake
    from intake.settings import IntakeSettings

    # The intake judges dates (which challenges are open) at the moment the site was built for.
    environ = {
        "CONSULT_INTAKE_DATA": str(data_dir),
        "CONSULT_INTAKE_SECRET": "browser-tests",
        "CONSULT_INTAKE_RATE_LIMIT": "0",
        "CONSULT_NOW": BUILD_NOW.isoformat(),
    }
    settings = IntakeSettings.from_environment(root, site_dir=output, base_url=base_url, environ=environ, run_worker=False)
    intake = create_intake(settings)
    return with_intake(static, intake, settings.mount_path), intake.state.intake.store


def with_intake(static: Any, intake: Starlette, mount_path: str = "/intake") -> Starlette:
    """The static site with the intake mounted at its path, the intake's start-up and shut-down run with the app's."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with intake.router.lifespan_context(intake):
            yield

    return Starlette(routes=[Mount(mount_path, app=intake), Mount("/", app=static)], lifespan=lifespan)


def free_socket() -> tuple[socket.socket, str]:
    """A socket bound to a free port of 127.0.0.1, and its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def serving(app: Any, sock: socket.socket, lifespan: str = "on") -> Iterator[None]:
    """Serve an ASGI app with uvicorn in a thread on a bound socket until the block ends; the socket is closed after."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="browser-test-server")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def live_site(built_sample: BuildResult) -> Iterator[LiveSite]:
    """The built sample site (and the intake, once it exists) served on a free port of 127.0.0.1."""
    output = built_sample.output
    root = output.parent / "repo"
    data_dir = Path(tempfile.mkdtemp(prefix="consult-intake-"))
    sock, base_url = free_socket()
    log = RequestLog()
    app, store = site_app(root, output, base_url, data_dir)
    try:
        with serving(recording(app, log), sock):
            yield LiveSite(base_url, output, log, store is not None, store)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Debian Chromium for the whole session."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium. "
            "Run `make test` (it installs it) or `apt-get install chromium`, "
            "or point CONSULT_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    # launch() starts Chromium on a fresh temporary user-data-dir of its own and
    # removes it on close; every context below is a clean, cookie-less profile.
    # The driver is shared (tests/conftest.py): Playwright's sync API allows one at a time.
    chromium = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` (or `make test`) to install axe-core.", pytrace=False)
    return AXE_JS.read_text(encoding="utf-8")
