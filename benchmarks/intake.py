"""Intake benchmark: accepted submissions per second and p50/p99 latency, concurrent clients over loopback.

Durability is on (SQLite WAL, synchronous=FULL: every answer waits for its
commit to reach the disk) and the publisher worker runs as `consult intake`
runs it (a child process of its own), turning submissions into git branches
while the load goes on. The server CPU per submission adds up the web process
and the worker, from the start of the load until the worker has caught up with it.

    .venv/bin/python benchmarks/intake.py --requests 3000 --concurrency 32
    .venv/bin/python benchmarks/intake.py --supports --requests 20000 --concurrency 8
    .venv/bin/python benchmarks/intake.py --database postgresql --replicas 2 --concurrency 8

`--database postgresql --replicas N` measures the deployment of several replicas
(`run_replicas`): a throwaway PostgreSQL cluster (fsync on), N web replicas
(`consult intake --no-worker`) and one publisher (`consult intake worker`), the
clients spread over the replicas; then the same layout on one SQLite file, beside it.

`--supports` posts "I support this idea" forms instead (answered 303), each from a
new browser (no cookie, so each one adds a row), over the ideas of the challenge
that never closes; the rate limits are on, set high enough not to refuse.

Prints figures; asserts nothing. The server is `consult intake` in its own
process; the clients run in this one (both share the machine's cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.intake.conftest import IDEA, free_port, intake_env, make_repo

SITE_ORIGIN = "http://localhost:8000"
"""The sample site.yml's base_url: where the forms are."""


SUPPORTED_CHALLENGE = "getting-the-basics-right"
"""The sample challenge with no closing date: its ideas take support on any day."""
SUPPORT_LIMITS = {"CONSULT_INTAKE_RATE_LIMIT_SUPPORTS": "100000000/60", "CONSULT_INTAKE_RATE_LIMIT_SUPPORTS_BROWSER": "100000000/60"}
"""Rate limits on (every post goes through both buckets) but too high to refuse the benchmark's one address."""


def open_ideas(repo: Path) -> list[str]:
    return sorted(path.stem for path in (repo / "content" / "ideas" / SUPPORTED_CHALLENGE).glob("*.md"))


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


async def post_supports(url: str, total: int, concurrency: int, ideas: list[str]) -> tuple[list[float], int, float]:
    """Support forms as a browser posts them, over keep-alive connections, each from a new browser (no cookie).

    The client speaks HTTP/1.1 over raw asyncio streams: httpx costs about 2 ms of CPU per request on this
    machine, twice what the intake spends on a support, so it would measure the client, not the intake."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    failures = 0
    counter = iter(range(total))

    def request(idea: str) -> bytes:
        body = urlencode({"idea": idea, "action": "support", "website": ""}).encode()
        head = (
            f"POST /supports HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {SITE_ORIGIN}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def client_loop() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for number in counter:
                start = time.perf_counter()
                writer.write(request(ideas[number % len(ideas)]))
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0)
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                failures += lines[0].split()[1] != "303"
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return latencies, failures, time.perf_counter() - began


def server_cpu(pid: int) -> float:
    """User+system CPU seconds the server process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The processes `pid` started (the publisher worker of `consult intake`), found through /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return children


def cpu_by_role(pid: int, workers: list[int]) -> tuple[float, float]:
    """CPU seconds of the web process and of its worker processes (each without the git commands they ran)."""
    worker = 0.0
    for child in workers:
        try:
            worker += server_cpu(child)
        except OSError:  # it ended: its CPU time is lost to the figure
            pass
    return server_cpu(pid), worker


def wait_published(url: str, limit: float = 300.0) -> float:
    """Seconds until nothing is left "received" (the worker has caught up), at most `limit`."""
    began = time.perf_counter()
    while time.perf_counter() - began < limit:
        if not httpx.get(f"{url}/healthz", timeout=10).json()["submissions"].get("received"):
            break
        time.sleep(0.2)
    return time.perf_counter() - began


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
    parser.add_argument("--supports", action="store_true", help="Post supports (303), each from a new browser, instead of ideas.")
    add_replica_options(parser)
    args = parser.parse_args()
    if args.database == "postgresql" or args.replicas > 1:
        run_replicas(args)
        return

    tmp = Path(tempfile.mkdtemp(prefix="consult-bench-"))
    try:
        repo = make_repo(tmp / "repo")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, **intake_env(tmp / "data", **(SUPPORT_LIMITS if args.supports else {}))}
        ideas = open_ideas(repo) if args.supports else None
        command = [str(Path(sys.executable).with_name("consult")), "--root", str(repo), "intake", "--port", str(port)]
        if args.no_worker:
            command.append("--no-worker")
        log = (tmp / "intake.log").open("wb")
        process = subprocess.Popen(command, env={**env, "PYTHONFAULTHANDLER": "1"}, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_up(url, process)
            load = (
                (lambda total: post_supports(url, total, args.concurrency, ideas))
                if ideas
                else (lambda total: run_load(url, total, args.concurrency, args.form))
            )
            asyncio.run(load(args.warmup))
            workers = child_pids(process.pid)
            web_before, worker_before = cpu_by_role(process.pid, workers)
            latencies, failures, elapsed = asyncio.run(load(args.requests))
            web_load = cpu_by_role(process.pid, workers)[0] - web_before
            catch_up = 0.0 if args.no_worker or args.supports else wait_published(url)
            web_after, worker_after = cpu_by_role(process.pid, workers)
            cpu = web_after - web_before + worker_after - worker_before
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
        what = "supports" if args.supports else "submissions"
        sent = "support form 303, a new browser each" if args.supports else "form 303" if args.form else "JSON 202"
        print(
            f"intake benchmark: {accepted} accepted of {len(latencies)} ({sent}), "
            f"{args.concurrency} concurrent clients, durability on (WAL, synchronous=FULL), worker {'off' if args.no_worker else 'on'}"
        )
        print(f"  throughput   {accepted / elapsed:8.1f} accepted {what}/s  ({elapsed:.2f} s)")
        print(f"  latency p50  {statistics.median(latencies) * 1000:8.1f} ms")
        print(f"  latency p99  {p99 * 1000:8.1f} ms")
        print(f"  server CPU   {cpu / max(1, accepted) * 1000:8.2f} ms per accepted {what[:-1]} (the intake's processes, git commands not)")
        if catch_up:
            print(
                f"               {web_load / max(1, accepted) * 1000:8.2f} ms of it in the web process during the load; "
                f"the worker caught up {catch_up:.1f} s after the load"
            )
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work on the machine skews these)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- several replicas on one database (--database, --replicas) ---------------------------------------------


REPLICA_LIMITS = {"CONSULT_INTAKE_RATE_LIMIT": "100000000/60", "CONSULT_INTAKE_TRUSTED_PROXIES": "127.0.0.1"}
"""Rate limits on (kept in the database on PostgreSQL: one upsert per post) but too high to refuse; each post comes
through a trusted proxy from one of 250 client addresses (X-Forwarded-For), as behind nginx."""


def add_replica_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="postgresql: a throwaway cluster shared by the replicas, measured beside the same layout on SQLite.",
    )
    parser.add_argument("--replicas", type=int, default=1, help="Web replicas (consult intake --no-worker), plus one publisher process.")


async def post_ideas_spread(urls: list[str], total: int, concurrency: int) -> tuple[list[float], int, float]:
    """JSON ideas (202) over keep-alive connections, client i to replica i mod N, from 250 addresses as a proxy
    forwards them, on raw asyncio streams (httpx's own CPU, about 2 ms a request, would take the cores the replicas
    are measured on)."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(total))

    async def client_loop(url: str) -> None:
        nonlocal failures
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for number in counter:
                body = json.dumps({**IDEA, "title": f"Benchmark idea {number}"}).encode()
                head = (
                    f"POST /ideas HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {SITE_ORIGIN}\r\n"
                    f"X-Forwarded-For: 198.51.100.{number % 250}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                start = time.perf_counter()
                writer.write(head.encode() + body)
                lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0)
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                failures += lines[0].split()[1] != "202"
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client_loop(urls[n % len(urls)]) for n in range(concurrency)))
    return latencies, failures, time.perf_counter() - began


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (a PostgreSQL server and its backends); 0 once it is gone."""
    total = 0.0
    for each in [pid, *child_pids(pid)]:
        try:
            total += server_cpu(each)
        except OSError:
            pass
    return total


def measure_layout(args: argparse.Namespace, tmp: Path, database_url: str, database_pid: int | None) -> dict[str, float]:
    """N replicas and one publisher on one database: accepted/s, p50, p99 and CPU ms per submission by role."""
    repo = make_repo(tmp / "repo")
    consult = str(Path(sys.executable).with_name("consult"))
    env = {**os.environ, **intake_env(tmp / "data", **REPLICA_LIMITS), "CONSULT_INTAKE_DATABASE_URL": database_url}
    ports = [free_port() for _ in range(args.replicas)]
    log = (tmp / "intake.log").open("wb")
    replicas = [
        subprocess.Popen([consult, "--root", str(repo), "intake", "--port", str(port), "--no-worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
        for port in ports
    ]
    publisher = subprocess.Popen([consult, "--root", str(repo), "intake", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process in zip(urls, replicas):
            wait_up(url, process)
        asyncio.run(post_ideas_spread(urls, args.warmup, args.concurrency))
        roles = {"replicas": [r.pid for r in replicas], "publisher": [publisher.pid], "database": [database_pid] if database_pid else []}
        before = {role: sum(tree_cpu(pid) for pid in pids) for role, pids in roles.items()}
        latencies, failures, elapsed = asyncio.run(post_ideas_spread(urls, args.requests, args.concurrency))
        used = {role: sum(tree_cpu(pid) for pid in pids) - before[role] for role, pids in roles.items()}
    finally:
        for process in [*replicas, publisher]:
            process.terminate()
        for process in [*replicas, publisher]:
            process.wait(timeout=60)
    ordered = sorted(latencies)
    accepted = len(latencies) - failures
    figures = {
        "accepted": accepted,
        "sent": len(latencies),
        "per_second": accepted / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }
    figures |= {f"cpu_{role}": seconds / max(1, accepted) * 1000 for role, seconds in used.items()}
    return figures


def run_replicas(args: argparse.Namespace) -> None:
    """`--database postgresql --replicas N`: the figures on PostgreSQL, then on one SQLite file, printed side by side."""
    from tests.postgres import PostgresCluster

    rows: dict[str, dict[str, float]] = {}
    cluster = PostgresCluster.create() if args.database == "postgresql" else None
    try:
        if cluster is not None:
            cluster.start()
            import psycopg

            with psycopg.connect(cluster.url, autocommit=True) as conn:  # the tests' cluster skips fsync: not here
                conn.execute("ALTER SYSTEM SET fsync = on")
                conn.execute("ALTER SYSTEM SET full_page_writes = on")
                conn.execute("SELECT pg_reload_conf()")
            with tempfile.TemporaryDirectory(prefix="consult-bench-") as tmp:
                rows["PostgreSQL"] = measure_layout(args, Path(tmp), cluster.create_database("bench"), cluster.pid())
    finally:
        if cluster is not None:
            cluster.destroy()
    with tempfile.TemporaryDirectory(prefix="consult-bench-") as tmp:
        rows["SQLite"] = measure_layout(args, Path(tmp), "", None)
    print(
        f"intake benchmark, {args.replicas} replica(s) + 1 publisher process, {args.concurrency} concurrent clients spread over them, "
        f"{args.requests} JSON posts (202), durability on (PostgreSQL fsync + synchronous_commit; SQLite synchronous=FULL)"
    )
    print(f"  {'store':<11}{'accepted/s':>11}{'p50 ms':>9}{'p99 ms':>9}   CPU ms per accepted submission: replicas / publisher / database")
    for name, row in rows.items():
        print(
            f"  {name:<11}{row['per_second']:>11.1f}{row['p50']:>9.1f}{row['p99']:>9.1f}   "
            f"{row['cpu_replicas']:.2f} / {row['cpu_publisher']:.2f} / {row['cpu_database']:.2f}"
            + ("" if row["accepted"] == row["sent"] else f"   ({row['sent'] - row['accepted']} refused)")
        )
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work on the machine skews these)")


if __name__ == "__main__":
    main()
