"""The fault run (issue 15, item 5): two intake replicas on one PostgreSQL database, a GitHub that fails.

Two `consult intake` processes (each with its publisher worker) share a throwaway PostgreSQL cluster;
the fake GitHub answers some requests with secondary-limit 403s (Retry-After), 502s and dropped
connections. 1,000 ideas are posted by concurrent clients over both replicas. Mid-way, the replica
holding the publisher lease is killed (`kill -9`, with its worker); then PostgreSQL is stopped and
started again; then the killed replica is started again.

Every acknowledged submission (303 or 202, with its reference) is then stored exactly once and carried
by exactly one pull request; posts made while the database was down got a 503 asking to try again,
never a "thank you"; GitHub never saw more than 80 content-creating requests in a minute or 500 in an hour.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from intake.forge.clock import SystemClock
from intake.forge.github_body import references_in
from tests.github_server import FakeGitHub
from tests.postgres import PostgresCluster

from .conftest import IDEA, free_port, intake_env, wait_for
from .test_replicas_publisher import github_repo

TOTAL = 1000
CLIENTS = 16
PACE = 0.05
"""Seconds each client waits between its posts. Quick, so each wave piles up a backlog that the publisher batches:
a trickle would be proposed one pull request each, and the run would wait minutes for GitHub's budget."""
ATTEMPTS = 30
"""Tries of one idea (a second apart) before the client gives up on it."""
KILL_AT, DATABASE_DOWN_AT, RESTART_AT = 250, 450, 650
"""How many posts are acknowledged when the publisher's replica is killed (once it has made pull requests), the
database stopped, the replica restarted."""
GATES = {400: "killed", 600: "database down", 800: "replica restarted"}
"""Ideas from this number on wait for that fault, so each lands mid-way however fast or slow the machine is."""
ORIGIN = "http://localhost:8000"
"""The sample site's base_url: posts come from its pages."""


def children_of(parent: int) -> set[int]:
    """The processes whose parent is `parent` (read from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == parent:
                found.add(int(stat.parent.name))
    return found


@dataclass
class Replica:
    port: int
    data: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, repo: Path, database_url: str) -> None:
        """`consult intake` in a process group of its own; its publisher worker is a child in a session of its own."""
        consult = Path(sys.executable).with_name("consult")
        # The rate limits on (kept in the database, shared by both replicas) but too high to refuse the test's one address.
        env = {
            **os.environ,
            **intake_env(self.data, CONSULT_INTAKE_SYNC_SECONDS="3600", CONSULT_INTAKE_RATE_LIMIT="1000000/60"),
            "CONSULT_INTAKE_DATABASE_URL": database_url,
            "GITHUB_TOKEN": "test-token",
        }
        self.process = subprocess.Popen(
            [str(consult), "--root", str(repo), "intake", "--port", str(self.port)],
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.up, timeout=60, step=0.1)

    def up(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def owns(self, pid: int) -> bool:
        """True when `pid` is this replica or one of its children (the worker it supervises)."""
        return self.process is not None and (pid == self.process.pid or pid in children_of(self.process.pid))

    def kill(self) -> None:
        """`kill -9` of the replica and its worker at once, as when its machine or container dies."""
        assert self.process is not None
        workers = children_of(self.process.pid)
        os.killpg(self.process.pid, signal.SIGKILL)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Outcomes:
    """What the clients were told."""

    acked: dict[str, str] = field(default_factory=dict)
    """title → reference, for every 303/202."""
    unavailable: list[str] = field(default_factory=list)
    """The body of every 503."""
    failed: list[int] = field(default_factory=list)
    """Numbers never acknowledged, however often sent again."""
    lock: threading.Lock = field(default_factory=threading.Lock)


CLIENT = threading.local()


def post(replicas: list[Replica], number: int, outcomes: Outcomes) -> None:
    """One idea, to replica number % 2 (the other when that one refuses connections), sent again a second later
    while the answer is a 503 or lost, as a person would; each try has a title of its own."""
    if getattr(CLIENT, "client", None) is None:
        CLIENT.client = httpx.Client(timeout=30, follow_redirects=False, headers={"Origin": ORIGIN})
    client: httpx.Client = CLIENT.client
    for attempt in range(ATTEMPTS):
        title = f"Fault run idea {number:04d} try {attempt}"
        data = {**IDEA, "title": title, "email": f"person{number}@example.org"}
        response = None
        for replica in (replicas[number % 2], replicas[1 - number % 2]):
            try:
                response = client.post(f"{replica.url}/ideas", json=data) if number % 2 else client.post(f"{replica.url}/ideas", data=data)
            except httpx.ConnectError:
                continue  # nothing was sent: the other replica may take it
            except httpx.HTTPError:
                pass  # sent, answer lost: not acknowledged
            break
        with outcomes.lock:
            if response is not None and response.status_code == 202:
                outcomes.acked[title] = response.json()["reference"]
                return
            if response is not None and response.status_code == 303:
                outcomes.acked[title] = response.headers["location"].rsplit("/", 1)[1]
                return
            if response is not None and response.status_code == 503:
                outcomes.unavailable.append(response.text)
        time.sleep(1)
    with outcomes.lock:
        outcomes.failed.append(number)


def lease_holder_pid(database_url: str) -> int | None:
    with psycopg.connect(database_url, row_factory=dict_row, connect_timeout=5) as conn:
        row = conn.execute("SELECT holder, expires FROM publisher_lease WHERE name = 'publisher'").fetchone()
    if row is None or row["expires"] <= time.time():
        return None
    return int(row["holder"].split(":")[-2])


def stored(database_url: str) -> list[dict]:
    with psycopg.connect(database_url, row_factory=dict_row, connect_timeout=5) as conn:
        return conn.execute("SELECT reference, state, fields FROM submissions").fetchall()


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    """A cluster of this test's own: it is stopped and started mid-run."""
    cluster = PostgresCluster.create()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.mark.slow
def test_two_replicas_lose_and_duplicate_nothing_through_kill_9_and_a_database_restart(tmp_path: Path, cluster: PostgresCluster) -> None:
    database_url = cluster.create_database("faults")
    with FakeGitHub(SystemClock(), files={"README.md": "# Site\n"}) as github:
        # Each fault at most twice, on different steps: every step gets through within its five tries (a step that
        # does not is retried a minute later, which this run would only wait for).
        github.inject("POST", r"/git/trees$", "secondary", times=2, retry_after=3)
        github.inject("POST", r"/pulls$", "502")
        github.inject("POST", r"/git/commits$", "reset", times=2)
        github.inject("POST", r"/git/refs$", "reset-after-write", times=2)
        github.inject("GET", r"/pulls$", "502")
        repo = github_repo(tmp_path, github, batch_size=100)  # fewer pull requests: the run waits less for GitHub's budget
        replicas = [Replica(free_port(), tmp_path / f"data-{n}", tmp_path / f"replica-{n}.log") for n in (1, 2)]
        outcomes = Outcomes()
        events: dict[str, float] = {}
        try:
            for replica in replicas:
                replica.start(repo, database_url)

            def faults() -> None:
                wait_for(lambda: len(outcomes.acked) >= KILL_AT and len(github.creating()) >= 12, timeout=300, step=0.01)
                holder = wait_for(lambda: lease_holder_pid(database_url), timeout=30)
                killed = next(r for r in replicas if r.owns(holder))
                killed.kill()
                events["killed"] = time.monotonic()
                gates["killed"].set()
                watcher = threading.Thread(target=watch_takeover, args=(holder,), daemon=True)
                watcher.start()

                wait_for(lambda: len(outcomes.acked) >= DATABASE_DOWN_AT, timeout=300, step=0.01)
                refused = len(outcomes.unavailable)
                cluster.stop()
                gates["database down"].set()
                try:
                    wait_for(lambda: len(outcomes.unavailable) >= refused + 3, timeout=30, step=0.05)
                finally:
                    cluster.start()
                events["database restarted"] = time.monotonic()

                wait_for(lambda: len(outcomes.acked) >= RESTART_AT, timeout=300, step=0.01)
                killed.start(repo, database_url)
                events["replica restarted"] = time.monotonic()
                gates["replica restarted"].set()
                watcher.join(timeout=60)

            def watch_takeover(dead: int) -> None:
                """When another worker holds the lease: the survivor's, or the restarted replica's if it asks first."""

                def taken() -> bool:
                    try:
                        pid = lease_holder_pid(database_url)
                    except psycopg.OperationalError:  # the database is being restarted
                        return False
                    return pid is not None and pid != dead

                wait_for(taken, timeout=60, step=0.2)
                events["taken over"] = time.monotonic()

            def injecting() -> None:
                try:
                    faults()
                except Exception as exc:  # noqa: BLE001 - raised again by the test's own thread
                    problems.append(exc)
                finally:
                    for gate in gates.values():
                        gate.set()

            problems: list[Exception] = []
            gates = {name: threading.Event() for name in GATES.values()}
            injector = threading.Thread(target=injecting, daemon=True)
            injector.start()

            def paced(number: int) -> None:
                for start, name in GATES.items():
                    if number >= start:
                        gates[name].wait()
                post(replicas, number, outcomes)
                time.sleep(PACE)

            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(paced, range(TOTAL)))
            injector.join(timeout=120)
            if problems:
                raise problems[0]
            assert "replica restarted" in events and "taken over" in events, f"every fault landed mid-way: {events}"
            assert events["taken over"] - events["killed"] < 30, "another replica's worker took the publisher lease within 30 s"
            assert not outcomes.failed, f"{len(outcomes.failed)} ideas never acknowledged in {ATTEMPTS} tries"

            acked_refs = set(outcomes.acked.values())
            wait_for(lambda: acked_refs <= {r["reference"] for r in stored(database_url) if r["state"] == "proposed"}, timeout=420, step=1)
        finally:
            for replica in replicas:
                replica.stop()

        # Every acknowledged submission stored exactly once, under the reference its sender was given.
        by_title: dict[str, list[str]] = {}
        rows = stored(database_url)
        for row in rows:
            by_title.setdefault(json.loads(row["fields"])["title"], []).append(row["reference"])
        assert len(outcomes.acked) == TOTAL
        for title, reference in outcomes.acked.items():
            assert by_title.get(title) == [reference], f"{title}: sent as {reference}, stored as {by_title.get(title)}"

        # Every stored submission in at most one pull request; every acknowledged one in exactly one, its file on the branch.
        carried = Counter(ref for pull in github.pulls.values() for ref in (references_in(pull.body) or {pull.head.removeprefix("submissions/"): ""}))
        assert max(carried.values()) == 1, [ref for ref, n in carried.items() if n > 1]
        assert set(carried) <= {row["reference"] for row in rows}, "no pull request for anything not stored"
        assert acked_refs <= set(carried)

        # GitHub's limits held for the whole service, through the kill and the takeover.
        assert github.violations == []
        assert github.max_in_window(60) <= 80 and github.max_in_window(3600) <= 500
        assert {r.fault for r in github.requests} >= {"secondary", "502", "reset", "reset-after-write"}, "every fault was met"

        # The database down: 503s asking to try again, never a "thank you" for something not stored (checked above).
        assert outcomes.unavailable and all("try again" in body for body in outcomes.unavailable)
        logs = "".join(r.log.read_text(errors="replace") for r in replicas)
        assert "@example.org" not in logs, "no email address in a log line"
