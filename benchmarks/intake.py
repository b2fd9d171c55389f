"""Intake benchmark: accepted submissions per second and p50/p99 latency, concurrent clients over loopback.

Durability is on (SQLite WAL, synchronous=FULL: every answer waits for its
commit to reach the disk) and the publisher worker runs in the same process,
turning submissions into git branches while the load goes on.

    .venv/bin/python benchmarks/intake.py --requests 3000 --concurrency 32

Prints figures; asserts nothing. The server is `consult intake` in its own
process; the clients run in this one (both share the machine's cores).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.intake.conftest import IDEA, free_port, intake_env, make_repo  # noqa: E402


SITE_ORIGIN = "http://localhost:8000"
"""The sample site.yml's base_url: where the forms are."""


async def run_load(url: str, total: int, concurrency: int, form: bool) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    counter = iter(range(total))

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for number in counter:
            data = {**IDEA, "title": f"Benchmark idea {number}"}
            start = time.perf_counter()
            if form:
                response = await client.post("/ideas", data=data)
                ok = response.status_code == 303
            else:
                response = await client.post("/ideas", json=data)
                ok = response.status_code == 202
            latencies.append(time.perf_counter() - start)
            failures += not ok

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # Posted as the site's pages post, with its Origin (browsers always send one; the intake refuses a post without).
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60, follow_redirects=False, headers={"Origin": SITE_ORIGIN}) as client:
        began = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, failures, elapsed


def server_cpu(pid: int) -> float:
    """User+system CPU seconds the server process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the intake did not start")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the intake did not answer /healthz within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--form", action="store_true", help="Send browser form posts (303) instead of JSON (202).")
    parser.add_argument("--no-worker", action="store_true", help="Measure the intake alone, without the publisher running.")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="consult-bench-"))
    try:
        repo = make_repo(tmp / "repo")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, **intake_env(tmp / "data")}
        command = [str(Path(sys.executable).with_name("consult")), "--root", str(repo), "intake", "--port", str(port)]
        if args.no_worker:
            command.append("--no-worker")
        log = (tmp / "intake.log").open("wb")
        process = subprocess.Popen(command, env={**env, "PYTHONFAULTHANDLER": "1"}, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_up(url, process)
            asyncio.run(run_load(url, args.warmup, args.concurrency, args.form))
            cpu_before = server_cpu(process.pid)
            latencies, failures, elapsed = asyncio.run(run_load(url, args.requests, args.concurrency, args.form))
            cpu = server_cpu(process.pid) - cpu_before
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                import signal

                process.send_signal(signal.SIGABRT)
                process.wait()
                print((tmp / "intake.log").read_text()[-4000:])
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        accepted = len(latencies) - failures
        print(f"intake benchmark: {accepted} accepted of {len(latencies)} ({'form 303' if args.form else 'JSON 202'}), "
              f"{args.concurrency} concurrent clients, durability on (WAL, synchronous=FULL), worker {'off' if args.no_worker else 'on'}")
        print(f"  throughput   {accepted / elapsed:8.1f} accepted submissions/s  ({elapsed:.2f} s)")
        print(f"  latency p50  {statistics.median(latencies) * 1000:8.1f} ms")
        print(f"  latency p99  {p99 * 1000:8.1f} ms")
        print(f"  server CPU   {cpu / max(1, accepted) * 1000:8.2f} ms per accepted submission (user+system, worker included)")
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work on the machine skews these)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
