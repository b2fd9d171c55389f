"""A progress bar for `consult build` on a terminal; silent in CI, in pipes and in tests."""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


def wanted() -> bool:
    """A bar only for a person watching: stderr is a terminal and this is not CI (GitHub Actions sets CI=true)."""
    return sys.stderr.isatty() and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


class BuildProgress:
    """Shows the current stage, and while pages render, how many of how many.

    A disabled instance does nothing, so the build can call it unconditionally.
    """

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if enabled:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<14}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console or Console(stderr=True),
                transient=True,
            )

    @property
    def enabled(self) -> bool:
        return self._bar is not None

    def __enter__(self) -> Self:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._bar:
            self._bar.stop()

    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage; with a total, the bar fills as `set_done` reports progress."""
        if self._bar:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(name, total=total)

    def set_done(self, done: int) -> None:
        if self._bar and self._task is not None:
            self._bar.update(self._task, completed=done, refresh=done == self._bar.tasks[-1].total)  # show the finished count


QUIET = BuildProgress(False)
