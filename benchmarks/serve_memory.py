"""`consult serve` memory benchmark: resident memory across rebuilds in one process, one idea edited before each.

    .venv/bin/python benchmarks/serve_memory.py --ideas 1000 --rebuilds 20

Uses the build benchmark's corpus (benchmarks/corpus.py, generated once under benchmarks/.corpus/),
copied to a temporary folder. It runs `consult serve`'s `Rebuilder` there as the server does: a
first, cold build, then a rebuild after each edit (one line appended to the same idea; the search
index left for later, as `consult serve` does while saves continue). Prints, for every rebuild, its
seconds and those the cycle collector took, the process's resident memory, and how many objects are
frozen out of the collector's reach; then the memory each rebuild added on average over the second
half of the rebuilds (a process that frees what each rebuild replaces levels off: about 0 MiB).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

from build import corpus_for

from generator.serve import Rebuilder


class CollectorTime:
    """The seconds the cycle collector ran, counted from its start and stop callbacks."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def resident_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ideas", type=int, default=1000)
    parser.add_argument("--rebuilds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.rebuilds < 4:
        raise SystemExit("--rebuilds must be 4 or more: the average growth is taken over the second half of them")
    os.environ.setdefault("CI", "true")  # no progress bars
    corpus = corpus_for(args.ideas, args.seed)
    with tempfile.TemporaryDirectory(prefix="serve-memory-") as folder:
        root = Path(folder) / "site"
        root.mkdir()
        for part in ("site.yml", "challenges", "content"):
            source = corpus / part
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, root / part)
        rebuild = Rebuilder(root, root / "_site", None, search_delay=24 * 3600.0)
        idea = min((root / "content" / "ideas").glob("*/*.md"))
        resident: list[float] = []
        collector = CollectorTime()
        gc.callbacks.append(collector)
        print(f"{'rebuild':>8} {'seconds':>8} {'in GC':>8} {'MiB':>8} {'frozen':>10}")
        try:
            for number in range(args.rebuilds + 1):
                if number:
                    with idea.open("a", encoding="utf-8") as text:
                        text.write(f"\nEdited at {time.time_ns()}\n")
                start, collector.seconds = time.perf_counter(), 0.0
                with redirect_stdout(None):  # "Rebuilt N pages."
                    if not rebuild():
                        raise SystemExit("a rebuild failed: see the problems above")
                seconds = time.perf_counter() - start
                resident.append(resident_mib())
                label = "cold" if number == 0 else str(number)
                print(f"{label:>8} {seconds:8.2f} {collector.seconds:8.2f} {resident[-1]:8.0f} {gc.get_freeze_count():>10,}", flush=True)
        finally:
            rebuild.stop()
            gc.callbacks.remove(collector)
    half = args.rebuilds // 2
    growth = (resident[args.rebuilds] - resident[half]) / (args.rebuilds - half)
    print(
        f"{args.ideas} ideas: {growth:+.2f} MiB of resident memory a rebuild on average, rebuilds {half} to {args.rebuilds}; at most {max(resident):.0f} MiB"
    )


if __name__ == "__main__":
    main()
