"""Spread a pure function over both cores (fork), keeping the order of the results.

Used where the build does the same independent work for each of thousands of
items: parsing content files, writing open-data records. Forked workers see
everything the parent had in memory, so only the items' results travel back
(pickled). Small jobs, and systems without fork, run in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 2000
"""Below this, the pickling and the fork cost more than the second core saves."""

_TASK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def workers() -> int:
    return min(os.cpu_count() or 1, 4)


def _run_chunk(start: int, stop: int) -> list[Any]:
    assert _TASK is not None
    func, items = _TASK
    return [func(item) for item in items[start:stop]]


def parallel_map(func: Callable[[T], R], items: Sequence[T], min_items: int = MIN_ITEMS) -> list[R]:
    """[func(item) for item in items], in up to four processes when there are many items."""
    global _TASK
    count = workers()
    if count < 2 or len(items) < min_items or "fork" not in multiprocessing.get_all_start_methods() or _TASK is not None:
        return [func(item) for item in items]
    bounds = [len(items) * i // count for i in range(count + 1)]
    _TASK = (func, items)
    try:
        with multiprocessing.get_context("fork").Pool(count - 1) as pool:
            pending = pool.starmap_async(_run_chunk, [(bounds[i], bounds[i + 1]) for i in range(1, count)])
            results = _run_chunk(bounds[0], bounds[1])
            for chunk in pending.get():
                results.extend(chunk)
    finally:
        _TASK = None
    return results
