"""The build's one worker pool: results in order, failures raised here, no nested forks."""

from __future__ import annotations

import os

import pytest

from generator.parallel import Counter, WorkerError, can_fork, parallel_map, run_shares

needs_fork = pytest.mark.skipif(not can_fork(), reason="the system cannot fork")


class ShareFailed(Exception):
    pass


def square(n: int) -> int:
    return n * n


@needs_fork
def test_parallel_map_keeps_the_order_over_several_processes() -> None:
    items = list(range(1001))
    assert parallel_map(square, items, min_items=1) == [n * n for n in items]
    pids = set(parallel_map(lambda _: os.getpid(), list(range(8)), min_items=1))
    assert len(pids) == min(os.cpu_count() or 1, 4), "each share ran in a process of its own"


def test_small_jobs_run_in_this_process() -> None:
    assert set(parallel_map(lambda _: os.getpid(), list(range(8)))) == {os.getpid()}


@needs_fork
def test_shares_see_this_processes_memory_and_count_together() -> None:
    unpicklable = lambda: "closures and lambdas reach the workers by fork"  # the point: nothing is pickled on the way out
    done = Counter()

    def share(worker: int) -> str:
        done.add(worker + 1)
        return f"{worker}: {unpicklable()}"

    assert run_shares(share, 3) == [f"{w}: {unpicklable()}" for w in range(3)]
    assert done.value == 1 + 2 + 3


@needs_fork
def test_a_failing_worker_raises_its_error_here() -> None:
    def share(worker: int) -> int:
        if worker == 2:
            raise ShareFailed(f"share {worker} failed")
        return worker

    with pytest.raises(ShareFailed, match="share 2 failed"):
        run_shares(share, 3)


@needs_fork
def test_a_worker_that_dies_is_reported() -> None:
    def share(worker: int) -> int:
        if worker == 1:
            os._exit(3)
        return worker

    with pytest.raises(WorkerError, match="exit code 3"):
        run_shares(share, 2, waiting=lambda: None)


@needs_fork
def test_a_job_inside_a_share_runs_in_place() -> None:
    def share(worker: int) -> set[int]:
        return set(parallel_map(lambda _: os.getpid(), list(range(8)), min_items=1))

    inner = run_shares(share, 2)
    assert all(len(pids) == 1 for pids in inner), "no process forks again from inside a share"
    assert inner[0] == {os.getpid()}
