"""Time spent per build stage, for `consult build --timings`."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .progress import QUIET, BuildProgress


@dataclass
class Timings:
    """Seconds per stage; a stage timed inside another (the search index inside render) is not counted twice."""

    stages: dict[str, float] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)
    """Peak resident memory in MiB: `build` (this process and its render workers), `search index` (Pagefind)."""
    progress: BuildProgress = field(default=QUIET, repr=False)
    _open: list[str] = field(default_factory=list, repr=False)
    started: float = field(default_factory=time.perf_counter, repr=False)
    ended: float | None = field(default=None, repr=False)

    def stop(self) -> None:
        """The build is over: `total` is the time from start to here."""
        self.ended = time.perf_counter()

    def note_build_peak(self, children: bool = True) -> None:
        """Record the peak memory of this process and (unless Pagefind is among them) the children it has waited for."""
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if children:
            kib = max(kib, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        peak = kib / 1024
        self.peaks["build"] = max(self.peaks.get("build", 0.0), peak)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        self.progress.stage(name)
        self._open.append(name)
        try:
            yield
        finally:
            self._open.pop()
            elapsed = time.perf_counter() - start
            self.stages[name] = self.stages.get(name, 0.0) + elapsed
            if self._open:
                self.stages[self._open[-1]] = self.stages.get(self._open[-1], 0.0) - elapsed

    def split(self, stage: str, part: str, seconds: float) -> None:
        """Report `seconds` of `stage` as a stage of its own (writing files, out of rendering)."""
        self.stages[stage] = self.stages.get(stage, 0.0) - seconds
        self.stages[part] = self.stages.get(part, 0.0) + seconds

    def lines(self) -> list[str]:
        """A line per stage, then the build's elapsed time: some stages run side by side (feeds, calendar and
        open data beside render pages, Pagefind beside them), so the stages add up to more than the total."""
        total = (self.ended or time.perf_counter()) - self.started
        rows = [f"{name:<14} {seconds:8.3f} s" for name, seconds in self.stages.items()]
        rows.append(f"{'total':<14} {total:8.3f} s")
        return rows + [f"peak memory, {name}: {mib:,.0f} MiB" for name, mib in self.peaks.items()]
