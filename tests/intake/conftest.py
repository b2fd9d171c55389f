"""Fixtures for the intake: a sample site in its own git repository, and real servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from generator.httpserver import server_config
from intake.app import create_app
from intake.settings import IntakeSettings
from tests import engine
from tests.conftest import BUILD_NOW, copy_sample

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Editor",
    "GIT_AUTHOR_EMAIL": "editor@localhost",
    "GIT_COMMITTER_NAME": "Editor",
    "GIT_COMMITTER_EMAIL": "editor@localhost",
}


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=True)
    return result.stdout.strip()


def make_repo(target: Path) -> Path:
    """The sample content committed on branch main of a fresh repository."""
    root = copy_sample(target)
    (root / ".gitignore").write_text("/.consult/\n/_site/\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Sample content")
    return root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    url: str
    settings: IntakeSettings
    app: object

    def client(self, **kwargs: object) -> httpx.Client:
        """A client that posts as the site's own pages do: with the site's Origin (browsers always send one)."""
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False, headers={"Origin": self.url}, **kwargs)  # type: ignore[arg-type]


@contextlib.contextmanager
def serve_app(app: object, port: int) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on 127.0.0.1:port until the block ends."""
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def intake_env(data: Path, **extra: str) -> dict[str, str]:
    """The intake's environment in a test; the test run's clock (CONSULT_NOW, as `make test` sets it) goes with it."""
    clock = {"CONSULT_NOW": os.environ["CONSULT_NOW"]} if os.environ.get("CONSULT_NOW") else {}
    database = {"CONSULT_INTAKE_DATABASE_URL": engine.current_url} if engine.current_url else {}  # tests/engine.py
    return {"CONSULT_INTAKE_DATA": str(data), "CONSULT_INTAKE_SECRET": "test-secret", "CONSULT_INTAKE_RATE_LIMIT": "0", **clock, **database, **extra}


@contextlib.contextmanager
def running_intake(root: Path, site_dir: Path, data: Path, run_worker: bool = True, **env: str) -> Iterator[Running]:
    port = free_port()
    settings = IntakeSettings.from_environment(
        root,
        site_dir=site_dir,
        base_url=f"http://127.0.0.1:{port}",
        environ=intake_env(data, **env),
        run_worker=run_worker,
        retry_base=0.05,
        sync_interval=0.2,
    )
    app = create_app(settings)
    with serve_app(app, port) as url:
        yield Running(url, settings, app)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def intake(repo: Path, site_dir: Path, tmp_path: Path) -> Iterator[Running]:
    """A running intake (with its worker) over a fresh repository."""
    with running_intake(repo, site_dir, tmp_path / "data") as running:
        yield running


@pytest.fixture
def quiet_intake(repo: Path, site_dir: Path, tmp_path: Path) -> Iterator[Running]:
    """A running intake without its worker: submissions stay in the store."""
    with running_intake(repo, site_dir, tmp_path / "data", run_worker=False) as running:
        yield running


@pytest.fixture
def intake_on_build_day(repo: Path, site_dir: Path, tmp_path: Path) -> Iterator[Running]:
    """A running intake without its worker whose clock reads BUILD_NOW, the day the shared site was built for
    (every sample challenge is open then), for tests that need several open challenges."""
    with running_intake(repo, site_dir, tmp_path / "data", run_worker=False, CONSULT_NOW=BUILD_NOW.isoformat()) as running:
        yield running


def wait_for(predicate, timeout: float = 30.0, step: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting for a condition")


IDEA = {
    "challenge": "getting-the-basics-right",
    "title": "Water fountains on every ward corridor",
    "idea": "Staff on long shifts often go hours without a drink because the nearest water is in the canteen. A fountain on each corridor would help.",
    "role": "Nurse",
    "region": "London",
    "name": "Sam",
    "email": "sam@example.org",
    "notify": "yes",
    "consent": "yes",
    "website": "",
}
