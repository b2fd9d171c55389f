"""Build benchmark: `consult build` cold, warm and one edit under `consult serve`, side by side with Hugo.

    .venv/bin/python benchmarks/build.py --sizes 1000,10000,50000

For each N it generates (once, cached under benchmarks/.corpus/) a deterministic
corpus, then times whole processes: consult cold (no output, no cache), Hugo
cold, consult warm (nothing changed), Hugo again, alternating; then one idea's
text is changed under `consult serve` and the time until the new page is
served is measured. Peak memory is the largest resident set of the build
process and its children. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
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

from corpus import make_corpus  # noqa: E402
from hugo_project import write_hugo_project  # noqa: E402

CONSULT = [sys.executable, "-m", "generator.cli"]
MEASURE = [sys.executable, str(HERE / "measure.py")]


@dataclass
class Row:
    n: int
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    hugo: list[float] = field(default_factory=list)
    edit: float = float("nan")
    rss_mb: float = 0.0
    pages: int = 0
    search: float = float("nan")


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Run cmd under measure.py; return (seconds, peak RSS in MiB, output)."""
    proc = subprocess.run(MEASURE + cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["seconds"], result["max_rss_mib"], proc.stderr


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


def one_edit(corpus: Path, out: Path, timeout: float = 600.0) -> float:
    """Seconds from saving one idea's new text until `consult serve` serves it."""
    port = free_port()
    serve = subprocess.Popen(CONSULT + ["--root", str(corpus), "serve", "--no-intake", "--port", str(port), "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while not fetch(base + "/") and time.monotonic() < deadline:
            time.sleep(0.2)
        idea = sorted((corpus / "content" / "ideas").glob("*/*.md"))[0]
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


def bench(n: int, seed: int, repeats: int, with_hugo: bool, with_edit: bool) -> Row:
    corpus = corpus_for(n, seed)
    out = corpus.parent / f"site-{n}"
    hugo_dir = corpus.parent / f"hugo-{n}"
    if with_hugo:
        write_hugo_project(corpus, hugo_dir)
    row = Row(n)
    for _ in range(repeats):
        clean_caches(corpus, out)
        seconds, rss, _ = timed(CONSULT + ["--root", str(corpus), "build", "--output", str(out)])
        row.cold.append(seconds)
        row.rss_mb = max(row.rss_mb, rss)
        if with_hugo:
            shutil.rmtree(hugo_dir / "public", ignore_errors=True)
            row.hugo.append(timed(["hugo", "--quiet", "-s", str(hugo_dir), "-d", str(hugo_dir / "public")])[0])
        seconds, rss, _ = timed(CONSULT + ["--root", str(corpus), "build", "--output", str(out)])
        row.warm.append(seconds)
        row.rss_mb = max(row.rss_mb, rss)
    row.pages = sum(1 for _ in out.rglob("*.html"))
    if with_edit:
        row.edit = one_edit(corpus, out)
    return row


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f}" if values else "      -"


def print_table(rows: list[Row]) -> None:
    print()
    print(f"{'N ideas':>8} {'pages':>7} {'cold s':>7} {'warm s':>7} {'hugo s':>7} {'cold/hugo':>9} {'warm/hugo':>9} {'edit s':>7} {'peak MiB':>9}")
    for row in rows:
        hugo = statistics.median(row.hugo) if row.hugo else float("nan")
        print(f"{row.n:>8} {row.pages:>7} {fmt(row.cold)} {fmt(row.warm)} {fmt(row.hugo)} {statistics.median(row.cold) / hugo:>9.2f} {statistics.median(row.warm) / hugo:>9.2f} {row.edit:>7.2f} {row.rss_mb:>9.0f}")
    if len(rows) > 1:
        for a, b in zip(rows, rows[1:]):
            print(f"cold time N={b.n} / N={a.n}: {statistics.median(b.cold) / statistics.median(a.cold):.2f} (N grew {b.n / a.n:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated numbers of ideas (default 1000,10000; the issue's full set is 1000,10000,50000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--no-edit", action="store_true")
    args = parser.parse_args()
    if not args.no_hugo and not shutil.which("hugo"):
        raise SystemExit("hugo is not installed: `apt-get install hugo` (Debian's package), or pass --no-hugo")
    os.environ.setdefault("CI", "true")  # no progress bars in the measured runs
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        rows.append(bench(n, args.seed, args.repeats, not args.no_hugo, not args.no_edit))
        print_table(rows[-1:])
    print_table(rows)


if __name__ == "__main__":
    main()
