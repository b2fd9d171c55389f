"""A launch-day surge through the GitHub forge: 10,000 submissions arriving within one hour.

Runs against the fake GitHub server (tests/github_server.py) on 127.0.0.1
with the default budgets (80 content-creating requests a minute, 500 an
hour) and a fake clock, so hours of rate-limit waits pass in seconds. The
publishing loop is the worker's: claim the oldest queued submissions (25, or
batch_size × 10 once the queue outgrows the hourly budget: intake/forge/batching.py)
and hand them to `forge.propose_many`, which opens single pull requests while
the budget can and one per challenge (up to batch_size) when it cannot.

    .venv/bin/python benchmarks/github_surge.py [--submissions 10000] [--seed 1]

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from github_server import FakeGitHub

from intake.forge.base import Flag, Proposal
from intake.forge.batching import claim_size
from intake.forge.clock import FakeClock
from intake.forge.github import GitHubForge, GitHubOptions

CHALLENGES = ("feeling-empowered", "free-from-bullying", "getting-the-basics-right", "respected-and-valued", "training-and-development")


def submission(n: int, rng: random.Random) -> Proposal:
    challenge = rng.choice(CHALLENGES)
    ref = f"TH-{n:06d}"
    flags = (Flag("possible-duplicate", "64% similar", (("Flexible rotas", f"/challenges/{challenge}/"),)),) if rng.random() < 0.1 else ()
    return Proposal(
        ref,
        "idea",
        f"content/ideas/{challenge}/idea-{n}.md",
        f"---\ntitle: Idea {n}\nreference: {ref}\n---\nAn idea about rotas, number {n}.\n",
        f"Idea: Rotas {n}",
        challenge,
        (("Challenge", challenge), ("Title", f"Rotas {n}"), ("Role", "Nurse"), ("Region", "London"), ("Credit", "anonymous")),
        flags,
    )


def run(count: int, seed: int, batch_size: int) -> dict[str, float]:
    rng = random.Random(seed)
    clock = FakeClock()
    t0 = clock.time()
    arrivals = sorted((t0 + rng.uniform(0, 3600), n) for n in range(count))
    proposals = {n: submission(n, rng) for n in range(count)}
    with FakeGitHub(clock) as server:
        forge = GitHubForge(
            GitHubOptions(repository=f"{server.owner}/{server.name}", url=server.url, site_url="https://talk.example.nhs.uk", batch_size=batch_size),
            clock,
            env={"GITHUB_TOKEN": "test-token"},
        )
        pending: deque[Proposal] = deque()
        arrived_at: dict[str, float] = {}
        in_front: dict[str, float] = {}
        nxt = 0
        while len(in_front) < count:
            while nxt < count and arrivals[nxt][0] <= clock.time():
                p = proposals[arrivals[nxt][1]]
                pending.append(p)
                arrived_at[p.reference] = arrivals[nxt][0]
                nxt += 1
            if not pending:
                clock.sleep(arrivals[nxt][0] - clock.time())
                continue
            claimed = list(pending)[: claim_size(len(pending), forge.one_by_one_capacity(), forge.batch_size)]
            done = forge.propose_many(claimed)
            for ref in done:
                in_front[ref] = clock.time()
            pending = deque(p for p in pending if p.reference not in done)
        waits = [in_front[r] - arrived_at[r] for r in in_front]
        return {
            "submissions": count,
            "pull requests opened": len(server.pulls),
            "API calls made": len(server.requests),
            "content-creating calls": len(server.creating()),
            "max content-creating calls in any minute": server.max_in_window(60),
            "max content-creating calls in any hour": server.max_in_window(3600),
            "limit violations (403/429 sent)": len(server.violations),
            "primary limit used at most (of 5000/h)": max_primary(server),
            "hours until every submission is in front of an editor": (max(in_front.values()) - t0) / 3600,
            "median wait (minutes)": statistics.median(waits) / 60,
            "duplicate pull requests": sum(len(server.pulls_for(p.branch)) > 1 for p in proposals.values()),
            "submissions lost": count - len(in_front),
        }


def max_primary(server: FakeGitHub) -> int:
    times = [r.time for r in server.requests]
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 3600:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    figures = run(args.submissions, args.seed, args.batch_size)
    for name, value in figures.items():
        print(f"{name:>56}: {value:.2f}" if isinstance(value, float) else f"{name:>56}: {value}")
    print(f"{'real seconds':>56}: {time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
