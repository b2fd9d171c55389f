"""The build's one worker pool: the same work split over both cores by forking, results in order.

Used where the build does the same independent work for each of thousands of
items: parsing content files, open-data records, rendering pages. Forked
workers see everything the parent had in memory (the share function is a
closure, never pickled), so only each share's result travels back, pickled
through a pipe. Share 0 runs in this process. Small jobs, systems without
fork, and code already running inside a share run in this process.
"""

from __future__ import annotations

import contextvars
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 2000
"""Below this, for parallel_map, the pickling and the fork cost more than the second core saves."""
POLL_SECONDS = 0.1
"""How often `run_shares` calls its `waiting` callback while other workers finish."""

_SHARING = contextvars.ContextVar("sharing", default=False)
"""True while this process runs a share: a nested job runs in place instead of forking again."""


class WorkerError(RuntimeError):
    """A worker failed with an error that could not be sent back as it was (its traceback is the message)."""


def workers() -> int:
    """How many processes a job may use (up to four)."""
    return min(os.cpu_count() or 1, 4)


def can_fork() -> bool:
    """Whether a job may fork workers here: the system has fork and this is not already a share of a job."""
    return "fork" in multiprocessing.get_all_start_methods() and not _SHARING.get() and multiprocessing.parent_process() is None


class Counter:
    """A number every worker of a job can add to and read (for a progress bar)."""

    def __init__(self) -> None:
        self._value: Any = multiprocessing.get_context("fork").Value("l", 0)

    def add(self, amount: int = 1) -> None:
        with self._value.get_lock():
            self._value.value += amount

    @property
    def value(self) -> int:
        return int(self._value.value)


@contextmanager
def _in_share() -> Iterator[None]:
    token = _SHARING.set(True)
    try:
        yield
    finally:
        _SHARING.reset(token)


def _child(share: Callable[[int], Any], worker: int, sender: Connection) -> None:
    with _in_share():
        try:
            result: tuple[bool, Any] = (True, share(worker))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, which raises it
            result = (False, exc)
        try:
            sender.send(result)
        except Exception:  # noqa: BLE001 - a result or error that cannot be pickled still reports the failure
            sender.send((False, WorkerError(traceback.format_exc())))
    sender.close()


def _receive(receiver: Connection, process: Any, waiting: Callable[[], None]) -> Any:
    while not receiver.poll(POLL_SECONDS):  # also ready when the worker is gone (end of file)
        waiting()
    try:
        ok, value = receiver.recv()
    except EOFError:
        process.join()
        raise WorkerError(f"a build worker (process {process.pid}) stopped with exit code {process.exitcode} before finishing its share") from None
    if not ok:
        raise value
    return value


def run_shares(share: Callable[[int], R], count: int, waiting: Callable[[], None] = lambda: None) -> list[R]:
    """[share(0), …, share(count - 1)]: share 0 here, the others each in a forked process (in place when forking is not possible).

    `waiting` is called every POLL_SECONDS while this process waits for the others. The first failure is raised here.
    """
    if count < 2 or not can_fork():
        with _in_share():
            return [share(worker) for worker in range(count)]
    fork = multiprocessing.get_context("fork")
    started: list[tuple[Connection, Any]] = []
    finished = False
    try:
        for worker in range(1, count):
            receiver, sender = fork.Pipe(duplex=False)
            process = fork.Process(target=_child, args=(share, worker, sender), daemon=True)
            process.start()
            sender.close()
            started.append((receiver, process))
        with _in_share():
            results = [share(0)]
        results += [_receive(receiver, process, waiting) for receiver, process in started]
        finished = True
    finally:
        for receiver, process in started:
            if not finished:
                process.terminate()  # a share failed: the others' work is not wanted
            process.join()
            receiver.close()
    return results


S = TypeVar("S")


def beside(here: Callable[[], R], there: Callable[[], S]) -> tuple[R, S]:
    """(here(), there()): `there` in a forked process while `here` runs in this one, which may still fork workers of its own.

    Where forking is not possible both run here, `here` first. A failure of either is raised here.
    """
    if not can_fork():
        return here(), there()
    fork = multiprocessing.get_context("fork")
    receiver, sender = fork.Pipe(duplex=False)
    process = fork.Process(target=_child, args=(lambda _worker: there(), 1, sender), daemon=True)
    process.start()
    sender.close()
    finished = False
    try:
        result = here()
        other: S = _receive(receiver, process, lambda: None)
        finished = True
    finally:
        if not finished:
            process.terminate()
        process.join()
        receiver.close()
    return result, other


class Sent(Generic[S]):
    """A forked process sending its results one at a time (`sending`): ask whether the next one is there, or wait for it."""

    def __init__(self, receiver: Connection, process: Any) -> None:
        self._receiver, self._process = receiver, process

    def ready(self) -> bool:
        """Whether the next result (or the process's end) is there, without waiting."""
        return self._receiver.poll(0)

    def next(self) -> S:
        """The next result, waiting for it; a failure in the process is raised here."""
        value: S = _receive(self._receiver, self._process, lambda: None)
        return value

    def close(self) -> None:
        """Stop the process if it still runs (its other results are not wanted)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receiver.close()


def _send_each(there: Callable[[], Iterator[Any]], sender: Connection) -> None:
    with _in_share():
        try:
            for value in there():
                sender.send((True, value))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, which raises it
            try:
                sender.send((False, exc))
            except Exception:  # noqa: BLE001 - an error that cannot be pickled still reports the failure
                sender.send((False, WorkerError(traceback.format_exc())))
    sender.close()


def sending(there: Callable[[], Iterator[S]]) -> Sent[S] | None:
    """Run `there` in a forked process, its results sent back one at a time as it yields them; None where forking is not possible.

    For work this process can do something else beside, and use a first result of before the next is ready.
    """
    if not can_fork():
        return None
    fork = multiprocessing.get_context("fork")
    receiver, sender = fork.Pipe(duplex=False)
    process = fork.Process(target=_send_each, args=(there, sender), daemon=True)
    process.start()
    sender.close()
    return Sent(receiver, process)


def parallel_map(func: Callable[[T], R], items: Sequence[T], min_items: int = MIN_ITEMS) -> list[R]:
    """[func(item) for item in items], in up to four processes when there are many items."""
    count = workers() if len(items) >= min_items else 1
    bounds = [len(items) * i // count for i in range(count + 1)]
    chunks = run_shares(lambda worker: [func(item) for item in items[bounds[worker] : bounds[worker + 1]]], count)
    return [result for chunk in chunks for result in chunk]
