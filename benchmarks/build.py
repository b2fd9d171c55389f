"""Build benchmark: `consult build` cold, warm, after one edit, and one edit under `consult serve`, side by side with Hugo.

    .venv/bin/python benchmarks/build.py --sizes 1000,10000,50000

For each N it generates (once, cached under benchmarks/.corpus/) a deterministic
corpus, then times whole processes, alternating with Hugo on the same corpus:

- cold: no output and no cache. The Pagefind search index is timed on its own
  (from `--timings`) and the ratio to Hugo compares the page build, cold minus
  search, as Hugo's templates build no search index;
- warm: nothing changed since the last build;
- edit build: one idea's text changed, then `consult build` (re-renders what
  shows it, keeps the rest);
- edit served: the same change under `consult serve`, from the file save until
  the new text is served;
- CI publish: what the publishing workflow does after one merge: a fresh `git
  clone` of the corpus (every modification time new), the last build's
  `.consult/cache/`, `.consult/templates/` and output restored as
  `actions/cache` restores them, one idea's text changed, then `consult build`
  (only the build is timed, as the clone and the restore are in CI, and only once
  their writes reached the disk, as `make setup` runs between them there);
- CI workflow: the same, as `.github/workflows/pages.yml` runs it: with the
  repository's `handbook/` and `--with-handbook`, the restored output being one
  the last run built with the handbook (so MkDocs runs only if it changed).

Every timed run, Hugo's included, starts once what was written before it reached
the disk (`settle_writes`).

`--incremental` times only what the incremental targets ask (at 50,000 ideas, say, where
a cold build and Hugo take minutes): the last build of each corpus is kept in
benchmarks/.corpus/site-N, brought up to date first (untimed: a first build, or every
page rendered again after a code change), then timed with nothing changed, and after
one edit at a time (the idea put back and built again, untimed, after each).

Memory: the peak resident set of the build (its process and render workers)
and of Pagefind, as the build reports them, and the largest of any process.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(HERE))

from corpus import make_corpus
from hugo_project import write_hugo_project

CONSULT = [sys.executable, "-m", "generator.cli"]
MEASURE = [sys.executable, str(HERE / "measure.py")]


@dataclass
class Row:
    n: int
    cold: list[float] = field(default_factory=list)
    search: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    edit_build: list[float] = field(default_factory=list)
    ci_publish: list[float] = field(default_factory=list)
    ci_workflow: list[float] = field(default_factory=list)
    hugo: list[float] = field(default_factory=list)
    edit_served: float = float("nan")
    build_peak_mib: float = 0.0
    search_peak_mib: float = 0.0
    any_peak_mib: float = 0.0
    pages: int = 0

    @property
    def page_build(self) -> list[float]:
        return [cold - search for cold, search in zip(self.cold, self.search)]


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Run cmd under measure.py; return (seconds, peak RSS of any of its processes in MiB, its output)."""
    proc = subprocess.run(MEASURE + cmd, check=False, cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    return result["seconds"], result["max_rss_mib"], "\n".join(lines[:-1])


def stage_seconds(output: str, stage: str) -> float:
    """A stage's time from `consult build --timings` output (0 when the stage did not run)."""
    match = re.search(rf"^{re.escape(stage)}\s+([0-9.]+) s$", output, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def peak_mib(output: str, name: str) -> float:
    match = re.search(rf"^peak memory, {re.escape(name)}: ([0-9,]+) MiB$", output, re.MULTILINE)
    return float(match.group(1).replace(",", "")) if match else 0.0


def corpus_for(n: int, seed: int) -> Path:
    path = HERE / ".corpus" / f"ideas-{n}-seed-{seed}"
    if not (path / ".complete").exists():
        shutil.rmtree(path, ignore_errors=True)
        make_corpus(path, n, seed)
        (path / ".complete").touch()
    return path


def clean_caches(corpus: Path, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(corpus / ".consult", ignore_errors=True)


def git_origin(corpus: Path) -> Path:
    """The corpus committed to a bare git repository (made once), to clone afresh as CI checks out."""
    origin = corpus.parent / f"{corpus.name}.git"
    if not (origin / "complete").exists():
        shutil.rmtree(origin, ignore_errors=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
        git = ["git", f"--git-dir={origin}", f"--work-tree={corpus}", "-c", "user.name=benchmark", "-c", "user.email=benchmark@example.invalid"]
        subprocess.run([*git, "add", "site.yml", "challenges", "content"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "The generated corpus"], check=True)
        (origin / "complete").touch()
    return origin


CI_CACHED = (".consult/cache", ".consult/templates")
"""What .github/workflows/pages.yml keeps of `.consult/` between runs (with the output, `_site/`)."""


def settle_writes() -> None:
    """Flush what was written before a timed run to disk: each run (Hugo's too) starts with the disk idle.

    A cold build writes half a gigabyte at 10,000 ideas, and so do a CI run's clone and restore; the kernel writes it
    out over the next half minute, and a build timed meanwhile shared the disk with that write-back (CI publish at
    10,000 ideas took 2.35-3.16 s over three runs, and 2.31-2.33 s once flushed). In the workflow `make setup` (a
    virtual environment and pip) runs between the restore and the build, and an editor's edit does not follow a
    cold build by seconds.
    """
    os.sync()


def ci_publish(corpus: Path, out: Path) -> tuple[float, float, str]:
    """`consult build` in a fresh clone of the corpus with the last build (corpus/.consult, out) restored and one idea edited."""
    clone = corpus.parent / f"ci-{corpus.name}"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(git_origin(corpus)), str(clone)], check=True)
    try:
        for part in CI_CACHED:
            if (corpus / part).is_dir():
                shutil.copytree(corpus / part, clone / part)  # modification times kept, as actions/cache's tar keeps them
        shutil.copytree(out, clone / "_site")
        idea = min((clone / "content" / "ideas").glob("*/*.md"))
        idea.write_text(edit_text(idea))
        settle_writes()
        return timed(CONSULT + ["--root", str(clone), "build", "--output", str(clone / "_site"), "--timings"])
    finally:
        shutil.rmtree(clone, ignore_errors=True)


def ci_workflow(corpus: Path, out: Path) -> tuple[float, float, str]:
    """As `ci_publish`, with the handbook: a first run (untimed) builds it into the restored output, the next run is timed."""
    last = corpus.parent / f"ci-last-{corpus.name}"
    clone = corpus.parent / f"ci-{corpus.name}"
    try:
        for folder, before, site in ((last, corpus, out), (clone, last, last / "_site")):
            shutil.rmtree(folder, ignore_errors=True)
            subprocess.run(["git", "clone", "-q", str(git_origin(corpus)), str(folder)], check=True)
            shutil.copytree(PROJECT / "handbook", folder / "handbook", ignore=shutil.ignore_patterns("__pycache__"))  # in the repository, as here
            for part in CI_CACHED:
                if (before / part).is_dir():
                    shutil.copytree(before / part, folder / part)
            shutil.copytree(site, folder / "_site")
            if folder == last:
                timed(CONSULT + ["--root", str(last), "build", "--with-handbook"])
        idea = min((clone / "content" / "ideas").glob("*/*.md"))
        idea.write_text(edit_text(idea))
        settle_writes()
        return timed(CONSULT + ["--root", str(clone), "build", "--with-handbook", "--timings"])
    finally:
        shutil.rmtree(last, ignore_errors=True)
        shutil.rmtree(clone, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except (OSError, http.client.HTTPException):  # not up yet, or a page replaced while it was being sent
        return ""


def one_edit(corpus: Path, out: Path, timeout: float = 600.0) -> float:
    """Seconds from saving one idea's new text until `consult serve` serves it."""
    port = free_port()
    serve = subprocess.Popen(
        CONSULT + ["--root", str(corpus), "serve", "--no-intake", "--port", str(port), "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while not fetch(base + "/") and time.monotonic() < deadline:
            time.sleep(0.2)
        idea = min((corpus / "content" / "ideas").glob("*/*.md"))
        original = idea.read_text()
        marker = f"Edited at {time.time_ns()}"
        try:
            start = time.perf_counter()
            idea.write_text(original.rstrip() + f"\n\n{marker}\n")
            while marker not in fetch(f"{base}/ideas/{idea.stem}/"):
                if time.monotonic() > deadline:
                    return float("nan")
                time.sleep(0.02)
            return time.perf_counter() - start
        finally:
            idea.write_text(original)
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def edit_text(idea: Path) -> str:
    return idea.read_text().rstrip() + f"\n\nEdited at {time.time_ns()}\n"


def bench(n: int, seed: int, repeats: int, with_hugo: bool, with_edit: bool) -> Row:
    corpus = corpus_for(n, seed)
    out = corpus.parent / f"site-{n}"
    hugo_dir = corpus.parent / f"hugo-{n}"
    if with_hugo:
        write_hugo_project(corpus, hugo_dir)
    build = CONSULT + ["--root", str(corpus), "build", "--output", str(out), "--timings"]
    idea = min((corpus / "content" / "ideas").glob("*/*.md"))
    row = Row(n)
    for _ in range(repeats):
        clean_caches(corpus, out)
        settle_writes()
        seconds, rss, output = timed(build)
        row.cold.append(seconds)
        row.search.append(stage_seconds(output, "search index"))
        row.build_peak_mib = max(row.build_peak_mib, peak_mib(output, "build"))
        row.search_peak_mib = max(row.search_peak_mib, peak_mib(output, "search index"))
        row.any_peak_mib = max(row.any_peak_mib, rss)
        if with_hugo:
            shutil.rmtree(hugo_dir / "public", ignore_errors=True)
            settle_writes()
            row.hugo.append(timed(["hugo", "--quiet", "-s", str(hugo_dir), "-d", str(hugo_dir / "public")])[0])
        settle_writes()
        seconds, rss, output = timed(build)
        row.warm.append(seconds)
        row.any_peak_mib = max(row.any_peak_mib, rss)
        original = idea.read_text()
        try:
            idea.write_text(edit_text(idea))
            settle_writes()
            seconds, rss, output = timed(build)
            row.edit_build.append(seconds)
            row.build_peak_mib = max(row.build_peak_mib, peak_mib(output, "build"))
            row.any_peak_mib = max(row.any_peak_mib, rss)
        finally:
            idea.write_text(original)
        timed(build)  # back to the corpus as generated
        seconds, rss, output = ci_publish(corpus, out)
        row.ci_publish.append(seconds)
        row.build_peak_mib = max(row.build_peak_mib, peak_mib(output, "build"))
        row.any_peak_mib = max(row.any_peak_mib, rss)
        seconds, rss, output = ci_workflow(corpus, out)
        row.ci_workflow.append(seconds)
        row.any_peak_mib = max(row.any_peak_mib, rss)
    row.pages = sum(1 for _ in out.rglob("*.html"))
    if with_edit:
        row.edit_served = one_edit(corpus, out)
    return row


@dataclass
class IncrementalRow:
    n: int
    pages: int = 0
    warm: list[float] = field(default_factory=list)
    edit_build: list[float] = field(default_factory=list)
    rendered: list[int] = field(default_factory=list)
    """Pages each edit's build rendered (from its summary line)."""
    build_peak_mib: float = 0.0
    any_peak_mib: float = 0.0


def rendered_pages(output: str) -> int:
    """How many pages a build rendered, from its summary ("Built 16555 pages (1 rendered, ...)")."""
    match = re.search(r"^Built [0-9]+ pages \(([0-9]+) rendered", output, re.MULTILINE)
    if not match:
        raise SystemExit(f"no build summary in:\n{output[-2000:]}")
    return int(match.group(1))


def bench_incremental(n: int, seed: int, repeats: int) -> IncrementalRow:
    """Nothing changed, then one edit at a time, on the corpus's kept build (see the module's docstring)."""
    corpus = corpus_for(n, seed)
    out = corpus.parent / f"site-{n}"
    build = CONSULT + ["--root", str(corpus), "build", "--output", str(out), "--timings"]
    idea = min((corpus / "content" / "ideas").glob("*/*.md"))
    original = idea.read_text()
    row = IncrementalRow(n)
    timed(build)  # up to date with this code and corpus: not a figure
    for _ in range(repeats):
        settle_writes()
        seconds, rss, output = timed(build)
        if "Nothing changed" not in output:
            raise SystemExit(f"a build with nothing changed did work:\n{output[-2000:]}")
        row.warm.append(seconds)
        row.any_peak_mib = max(row.any_peak_mib, rss)
    for _ in range(repeats):
        try:
            idea.write_text(edit_text(idea))
            settle_writes()
            seconds, rss, output = timed(build)
            row.edit_build.append(seconds)
            row.rendered.append(rendered_pages(output))
            row.build_peak_mib = max(row.build_peak_mib, peak_mib(output, "build"))
            row.any_peak_mib = max(row.any_peak_mib, rss)
        finally:
            idea.write_text(original)
        timed(build)  # back to the corpus as generated
    row.pages = sum(1 for _ in out.rglob("*.html"))
    return row


def print_incremental(rows: list[IncrementalRow]) -> None:
    print()
    print("Incremental builds on the kept build: times in seconds (median, then min-max of the repeats), memory in MiB.")
    print(f"{'N ideas':>8} {'pages':>7} {'nothing changed':>22} {'one edit':>22} {'rendered':>9} {'build peak':>11} {'any peak':>9}")
    for row in rows:
        print(
            f"{row.n:>8} {row.pages:>7} {spread(row.warm):>22} {spread(row.edit_build):>22}"
            f" {max(row.rendered, default=0):>9} {row.build_peak_mib:>11.0f} {row.any_peak_mib:>9.0f}"
        )


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})" if values else "-"


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f}" if values else "       -"


def ratio(values: list[float], hugo: list[float]) -> str:
    return f"{statistics.median(values) / statistics.median(hugo):8.2f}" if values and hugo else "       -"


def print_table(rows: list[Row]) -> None:
    print()
    print("Times in seconds (median of the repeats), memory in MiB. 'pages' = cold minus search index; x hugo compares it.")
    print(
        f"{'N ideas':>8} {'pages':>7} {'cold':>8} {'search':>8} {'pages':>8} {'hugo':>8} {'x hugo':>8} {'warm':>8} {'x hugo':>8} {'edit':>8} {'served':>8} {'CI':>8} {'CI':>8} {'build':>8} {'search':>8} {'any':>8}"
    )
    print(
        f"{'':>8} {'written':>7} {'':>8} {'index':>8} {'build':>8} {'':>8} {'':>8} {'':>8} {'':>8} {'build':>8} {'edit':>8} {'publish':>8} {'workflow':>8} {'peak':>8} {'peak':>8} {'peak':>8}"
    )
    for row in rows:
        print(
            f"{row.n:>8} {row.pages:>7} {fmt(row.cold)} {fmt(row.search)} {fmt(row.page_build)} {fmt(row.hugo)} {ratio(row.page_build, row.hugo)}"
            f" {fmt(row.warm)} {ratio(row.warm, row.hugo)} {fmt(row.edit_build)} {row.edit_served:8.2f} {fmt(row.ci_publish)} {fmt(row.ci_workflow)}"
            f" {row.build_peak_mib:8.0f} {row.search_peak_mib:8.0f} {row.any_peak_mib:8.0f}"
        )
    if len(rows) > 1:
        for a, b in itertools.pairwise(rows):
            grow = b.n / a.n
            print(
                f"N={b.n} / N={a.n} ({grow:.0f}x the ideas): cold {statistics.median(b.cold) / statistics.median(a.cold):.2f}x, page build {statistics.median(b.page_build) / statistics.median(a.page_build):.2f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", default="1000,10000", help="comma-separated numbers of ideas (default 1000,10000; the issue's full set is 1000,10000,50000)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--no-edit", action="store_true")
    parser.add_argument(
        "--incremental", action="store_true", help="time only nothing changed and one edit, on the kept build (no cold build, no Hugo)"
    )
    args = parser.parse_args()
    os.environ.setdefault("CI", "true")  # no progress bars in the measured runs
    if args.incremental:
        incremental = []
        for n in (int(s) for s in args.sizes.split(",")):
            incremental.append(bench_incremental(n, args.seed, args.repeats))
            print_incremental(incremental[-1:])
        print_incremental(incremental)
        return
    if not args.no_hugo and not shutil.which("hugo"):
        raise SystemExit("hugo is not installed: `apt-get install hugo` (Debian's package), or pass --no-hugo")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        rows.append(bench(n, args.seed, args.repeats, not args.no_hugo, not args.no_edit))
        print_table(rows[-1:])
    print_table(rows)


if __name__ == "__main__":
    main()
