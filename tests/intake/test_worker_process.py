"""`consult intake` runs the publisher worker as a child process: it publishes, is restarted when it dies, stops with
the web process (SIGTERM) and does not outlive it (SIGKILL), and the web process learns of publications."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from generator.cli import main

from .conftest import IDEA, free_port, git, intake_env, wait_for

SITE_ORIGIN = "http://localhost:8000"
"""The sample site.yml's base_url: the Origin its forms post with (only sent as a header)."""


def children(pid: int) -> list[int]:
    """The processes `pid` started, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def intake_cli(repo: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`consult intake` started as an operator starts it, on a free loopback port."""
    port = free_port()
    env = {**os.environ, **intake_env(tmp_path / "data", CONSULT_INTAKE_SYNC_SECONDS="0.2")}
    command = [sys.executable, "-c", "from generator.cli import main; main()", "--root", str(repo), "intake", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "intake.log").open("wb"))
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=60, step=0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def post_idea(url: str, **fields: str) -> str:
    response = httpx.post(f"{url}/ideas", json={**IDEA, **fields}, headers={"Origin": SITE_ORIGIN}, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["reference"])


def test_the_worker_is_a_child_process_restarted_when_it_dies_and_stopped_with_the_web_process(
    intake_cli: tuple[subprocess.Popen[bytes], str], repo: Path
) -> None:
    process, url = intake_cli
    [worker] = wait_for(lambda: children(process.pid))
    reference = post_idea(url)
    wait_for(lambda: git(repo, "branch", "--list", f"submissions/{reference}"))

    os.kill(worker, signal.SIGKILL)
    [restarted] = wait_for(lambda: [pid for pid in children(process.pid) if pid != worker], timeout=20)
    second = post_idea(url, title="Lockers that fit a coat and a bag")
    wait_for(lambda: git(repo, "branch", "--list", f"submissions/{second}"))

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) in (0, -signal.SIGTERM)  # uvicorn ends by raising the signal it caught again
    assert not alive(restarted)  # stopped (and waited for) before the web process ended


def test_the_worker_does_not_outlive_a_killed_web_process(intake_cli: tuple[subprocess.Popen[bytes], str]) -> None:
    process, _ = intake_cli
    [worker] = wait_for(lambda: children(process.pid))
    process.kill()
    process.wait()
    wait_for(lambda: not alive(worker), timeout=20)


def test_the_web_process_reads_the_site_again_when_the_worker_process_sees_a_publication(
    intake_cli: tuple[subprocess.Popen[bytes], str], repo: Path
) -> None:
    _, url = intake_cli
    reference = post_idea(url)
    wait_for(lambda: httpx.get(f"{url}/status/{reference}", headers={"Accept": "application/json"}).json()["status"] == "proposed")
    comment = {"target": "idea:water-fountains-on-every-ward-corridor", "comment": "Yes, and cups beside them.", "consent": "yes", "website": ""}
    refused = httpx.post(f"{url}/comments", json=comment, headers={"Origin": SITE_ORIGIN}, timeout=30)
    assert refused.status_code == 422 and "target" in refused.json()["errors"]  # not published yet: nothing to comment on

    result = CliRunner().invoke(main, ["--root", str(repo), "review", "accept", reference], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # The worker process sees the decision, and tells the web process, which reads the site again.
    wait_for(lambda: httpx.post(f"{url}/comments", json=comment, headers={"Origin": SITE_ORIGIN}, timeout=30).status_code == 202, timeout=30)
