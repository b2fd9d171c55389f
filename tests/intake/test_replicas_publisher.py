"""Several workers on one store, one publisher: the publisher lease (intake/publisher.py).

Only the lease holder publishes; a worker that stops hands over at once, and one killed with
`kill -9` is replaced within 30 seconds by another, which finishes what it left half made
on the (fake) GitHub without a second pull request for anything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from intake.catalogue import CatalogueHolder
from intake.forge.base import Forge, Proposal, ProposalState
from intake.forge.clock import SystemClock
from intake.publisher import PublisherLease
from intake.settings import IntakeSettings
from intake.store import Store
from intake.worker import Worker
from tests.github_server import FakeGitHub

from .conftest import IDEA, intake_env, make_repo, wait_for

MakeStore = Callable[..., Store]


class Recording(Forge):
    """A forge that notes which worker proposed what (shared by the workers under test)."""

    def __init__(self) -> None:
        self.by: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def propose(self, proposal: Proposal) -> str:
        with self.lock:
            self.by.append((threading.current_thread().name, proposal.reference))
        return f"https://forge.example/pull/{proposal.reference}"

    def state(self, reference: str) -> ProposalState:
        return ProposalState.OPEN


def _ideas(store: Store, count: int, start: int = 0) -> list[str]:
    return [store.add_now("idea", {**IDEA, "title": f"Replica idea {n}"}, None) for n in range(start, start + count)]


def _worker(repo: Path, tmp_path: Path, forge: Forge, lease: PublisherLease) -> Worker:
    settings = IntakeSettings.from_environment(repo, environ=intake_env(tmp_path / "data", CONSULT_INTAKE_SYNC_SECONDS="3600"))
    return Worker(settings, lease.store, forge, CatalogueHolder(repo), publisher_lease=lease)


def test_one_lease_holder_at_a_time_and_a_lapsed_lease_is_taken_over(make_store: MakeStore) -> None:
    first = PublisherLease(make_store(), seconds=0.5, holder="first")
    second = PublisherLease(make_store(), seconds=0.5, holder="second")
    assert first.try_take() and not second.try_take()
    assert first.try_take(), "the holder renews its own lease"
    assert first.current_holder() == "first"
    time.sleep(0.6)  # the first stops renewing (as if killed): its lease lapses
    assert not first.held and second.try_take() and second.held
    assert not first.try_take(), "a holder that let its lease lapse does not get it back while another holds it"
    second.release()
    assert second.current_holder() is None and not second.held and first.try_take()


def test_two_workers_on_one_store_only_the_lease_holder_publishes(repo: Path, tmp_path: Path, make_store: MakeStore) -> None:
    forge = Recording()
    workers = [_worker(repo, tmp_path, forge, PublisherLease(make_store(), seconds=3, renew_every=1, holder=name)) for name in ("a", "b")]
    threads = [threading.Thread(target=w.run, kwargs={"poll": 0.05}, name=f"worker-{n}", daemon=True) for n, w in zip("ab", workers)]
    for thread in threads:
        thread.start()
    store = make_store()
    try:
        references = []
        for round_ in range(4):  # submissions keep arriving while both workers run
            references += _ideas(store, 5, start=round_ * 5)
            time.sleep(0.3)
        wait_for(lambda: len(forge.by) >= len(references), timeout=20)
        publishers = {name for name, _ in forge.by}
        assert len(publishers) == 1, f"more than one worker published: {publishers}"
        holder = next(w for w in workers if w.publisher_lease and w.publisher_lease.held)
        other = next(w for w in workers if w is not holder)
        assert sorted(ref for _, ref in forge.by) == sorted(references)  # each once

        holder.stop_event.set()  # a clean stop releases the lease: the other publishes at once
        threads[workers.index(holder)].join(timeout=10)
        started = time.monotonic()
        later = _ideas(store, 3, start=100)
        other.wake.set()
        wait_for(lambda: len(forge.by) >= len(references) + 3, timeout=10)
        assert time.monotonic() - started < 3, "a released lease is taken at the next renewal, without waiting for it to lapse"
        assert {name for name, ref in forge.by if ref in later} == {threads[workers.index(other)].name}
    finally:
        for worker in workers:
            worker.stop_event.set()
            worker.wake.set()
        for thread in threads:
            thread.join(timeout=10)
    assert all(s == "proposed" for s in (store.get(ref).state for _, ref in forge.by))


# -- two worker processes, the holder killed -------------------------------------------------------


def github_repo(tmp_path: Path, github: FakeGitHub, **publishing: int) -> Path:
    """The sample site with `forge: github` pointing at the fake server (and site.yml `publishing` options)."""
    repo = make_repo(tmp_path / "repo")
    config = yaml.safe_load((repo / "site.yml").read_text(encoding="utf-8"))
    config["forge"] = "github"
    config["github"] = {"repository": f"{github.owner}/{github.name}", "base_branch": "main", "url": github.url}
    config["publishing"] = {**config.get("publishing", {}), **publishing}
    (repo / "site.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return repo


def start_worker(repo: Path, data: Path, log: Path, database_url: str) -> subprocess.Popen[bytes]:
    consult = Path(sys.executable).with_name("consult")
    env = {
        **os.environ,
        **intake_env(data, CONSULT_INTAKE_SYNC_SECONDS="3600"),
        "GITHUB_TOKEN": "test-token",
        "CONSULT_INTAKE_DATABASE_URL": database_url,
    }
    return subprocess.Popen([str(consult), "--root", str(repo), "intake", "worker"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_the_killed_publishers_work_is_finished_by_another_without_duplicates(tmp_path: Path, database_url: str, make_store: MakeStore) -> None:
    with FakeGitHub(SystemClock(), files={"README.md": "# Site\n"}) as github:
        repo, data = github_repo(tmp_path, github), tmp_path / "data"
        store = make_store(data / "intake.sqlite3")
        references = _ideas(store, 12)
        # The first pull request is made but its answer lost: the holder is killed while it waits to retry.
        github.inject("POST", r"/pulls$", "reset-after-write")
        logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
        first = start_worker(repo, data, logs[0], database_url)
        lease = PublisherLease(store, holder="the test: only reads")
        wait_for(lambda: (lease.current_holder() or "").count(f":{first.pid}:") == 1, timeout=60)
        second = start_worker(repo, data, logs[1], database_url)
        try:
            wait_for(lambda: any(r.fault == "reset-after-write" for r in github.requests), timeout=60, step=0.01)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            killed_at = time.monotonic()
            assert len(github.pulls) == 1 and store.get(references[0]).state == "received", "killed with its first pull request half recorded"

            wait_for(lambda: (lease.current_holder() or "").count(f":{second.pid}:") == 1, timeout=30)
            assert time.monotonic() - killed_at < 30, "another worker takes over within 30 seconds"
            wait_for(lambda: all(store.get(r).state == "proposed" for r in references), timeout=90, step=0.25)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        assert second.returncode == 0
        for reference in references:
            pulls = [p for p in github.pulls.values() if p.head == f"submissions/{reference}"]
            assert len(pulls) == 1, f"{reference}: {len(pulls)} pull requests"
            assert store.get(reference).locator == f"{github.web_repo}/pull/{pulls[0].number}"
        assert len(github.pulls) == len(references)
        assert github.violations == []
        assert lease.current_holder() is None, "a worker stopped cleanly gives the lease up"
        text = logs[1].read_text()
        assert "holds the publisher lease" in text and f"Proposed {references[0]}" in text
