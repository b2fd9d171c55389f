"""`consult serve`: serves clean URLs and the 404 page, and rebuilds when a file changes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


@pytest.fixture
def served(sample_repo: Path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator.cli", "--root", str(sample_repo), "serve", "--no-intake", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(base + "/").status_code == 200, what="the server to start")
        yield base, sample_repo
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serves_clean_urls_and_404(served) -> None:
    base, _ = served
    assert "Talk Health and Care" in httpx.get(base + "/").text
    assert httpx.get(base + "/challenges/feeling-empowered/").status_code == 200
    missing = httpx.get(base + "/no/such/page/")
    assert missing.status_code == 404 and "Page not found" in missing.text


def test_rebuilds_when_content_changes(served) -> None:
    base, repo = served
    challenge = repo / "challenges" / "feeling-empowered.md"
    challenge.write_text(challenge.read_text().replace("title:", "title: Edited", 1).replace("title: Edited ", "title: Edited ", 1))
    wait_for(lambda: "Edited" in httpx.get(base + "/challenges/feeling-empowered/").text, what="the edit to be served")
