"""GitHub's write budget holds across processes: a restart, a second replica or a takeover counts the writes
made before it (kept in the store, SQLite or PostgreSQL: the ledger tests run on both), and every limit response
is logged with its Retry-After."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import proposal

from intake.db import Database, connect
from intake.forge.clock import FakeClock
from intake.forge.github import WRITES_PER_PULL, GitHubForge
from intake.forge.ratelimit import Budget, MemoryWriteLedger, StoreWriteLedger
from intake.migrations import migrate


def store_ledger(url: str, path: Path) -> tuple[Database, StoreWriteLedger]:
    db = connect(url, path)
    migrate(db)
    return db, StoreWriteLedger(db)


@pytest.fixture
def open_ledger(database_url: str, tmp_path: Path) -> Iterator[Callable[[], StoreWriteLedger]]:
    """Ledgers on the test's store (each a process's own connection to it), closed after the test."""
    opened: list[Database] = []

    def make() -> StoreWriteLedger:
        db, ledger = store_ledger(database_url, tmp_path / "intake.sqlite3")
        opened.append(db)
        return ledger

    yield make
    for db in opened:
        db.close()


def _burst(url: str, path: str, count: int, now: float) -> None:
    """A process that spends `count` writes and dies without any clean-up (as after kill -9)."""
    import os

    _, ledger = store_ledger(url, Path(path))
    for n in range(count):
        assert ledger.reserve(now + n * 0.01, Budget(80, 500).windows) == 0
    os._exit(0)


def test_a_restarted_process_counts_the_writes_of_the_one_before(
    database_url: str, tmp_path: Path, open_ledger: Callable[[], StoreWriteLedger]
) -> None:
    start = 1_800_000_000.0
    process = multiprocessing.get_context("spawn").Process(target=_burst, args=(database_url, str(tmp_path / "intake.sqlite3"), 60, start))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    clock = FakeClock(start + 1)
    budget = Budget(80, 500, ledger=open_ledger())
    for _ in range(30):
        budget.acquire(clock)
    # 60 + 30 writes: the 81st had to wait until the first of the dead process's writes was a minute old.
    assert clock.time() >= start + 61
    assert budget.left_this_hour(clock.time()) == 500 - 90


def test_two_ledgers_on_one_store_never_exceed_the_minute(open_ledger: Callable[[], StoreWriteLedger]) -> None:
    clock = FakeClock()
    first, second = Budget(10, 500, ledger=open_ledger()), Budget(10, 500, ledger=open_ledger())
    times = []
    for n in range(40):
        (first if n % 2 else second).acquire(clock)
        times.append(clock.time())
    assert max(sum(1 for t in times if s <= t < s + 60) for s in times) <= 10


def test_memory_ledgers_alone_would_exceed_it() -> None:
    """The defect this fixes: each process counting only its own writes."""
    clock = FakeClock()
    first, second = Budget(10, 500, ledger=MemoryWriteLedger()), Budget(10, 500, ledger=MemoryWriteLedger())
    for budget in (first, second):
        for _ in range(10):
            budget.acquire(clock)
    assert clock.time() - FakeClock().time() < 60  # 20 writes inside one minute


def test_a_restarted_forge_keeps_githubs_budget(options, clock, github, open_ledger: Callable[[], StoreWriteLedger]) -> None:
    small = dataclasses.replace(options, per_minute=12, per_hour=40)
    github.per_minute, github.per_hour = 12, 40
    for run in range(3):  # the same intake started three times, each proposing a few
        forge = GitHubForge(small, clock, env={"GITHUB_TOKEN": "test-token"}, ledger=open_ledger())
        for n in range(3):
            forge.propose(proposal(run * 10 + n))
    assert github.violations == []
    assert github.max_in_window(60) <= 12 and github.max_in_window(3600) <= 40
    assert len(github.pulls) == 9
    assert forge.capacity_now() == max(0, 40 - len(github.creating())) // WRITES_PER_PULL


def test_a_limit_response_is_logged_with_its_retry_after(forge, github, caplog) -> None:
    github.inject("POST", r"/pulls$", "secondary", retry_after=60)
    with caplog.at_level(logging.WARNING, logger="consult.intake"):
        forge.propose(proposal(1))
    assert len(github.pulls) == 1
    logged = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
    assert logged and "403" in logged[0] and "Retry-After: 60" in logged[0] and "/pulls" in logged[0]
