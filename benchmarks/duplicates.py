"""Duplicate scoring benchmark: CPU time to flag one submission against N published ideas.

    .venv/bin/python benchmarks/duplicates.py --sizes 1000,50000

The published ideas are the build benchmark's corpus (benchmarks/corpus.py: short and long texts over
the same few hundred words, so most ideas share most words: a hard case for an inverted index), held
in memory. Each size prints the time to build the index once, the time to score one new submission
(`intake.moderation.duplicates`, with 200 ideas waiting for review), how many ideas it scored in full,
and, for comparison, the time to score every published idea as the intake did before, and how often both
agree on the closest published idea.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

from corpus import TITLE_ENDS, TITLE_STARTS, body

from intake.catalogue import IdeaInfo, load_catalogue
from intake.moderation import WaitingIdea, duplicate_index, duplicates


def idea(rng: random.Random, n: int) -> tuple[str, str, str]:
    title = f"{rng.choice(TITLE_STARTS)} {rng.choice(TITLE_ENDS)} {n}"
    return f"idea-{n}", title, body(rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,50000", help="Numbers of published ideas, separated by commas.")
    parser.add_argument("--submissions", type=int, default=200)
    args = parser.parse_args()
    base = load_catalogue(PROJECT)  # the sample site's settings (duplicate threshold), its ideas replaced below
    threshold = base.config.moderation.duplicate_threshold
    print(f"duplicate scoring: {args.submissions} submissions, 200 ideas waiting for review, threshold {threshold:.0%}")
    for size in (int(s) for s in args.sizes.split(",")):
        rng = random.Random(7)
        catalogue = load_catalogue(PROJECT)
        catalogue.ideas = {slug: IdeaInfo(slug, title, "getting-the-basics-right", text) for slug, title, text in (idea(rng, n) for n in range(size))}
        began = time.process_time()
        index = duplicate_index(catalogue)
        built = time.process_time() - began
        waiting = [WaitingIdea(f"TH-W{n:04d}", *idea(rng, size + n)[1:]) for n in range(200)]
        duplicates("Warm up", "the first call indexes the waiting ideas", catalogue, waiting)
        times, scored, flagged = [], [], 0
        for n in range(args.submissions):
            _, title, text = idea(rng, size + 1000 + n)
            began = time.process_time()
            flagged += bool(duplicates(title, text, catalogue, waiting))
            times.append(time.process_time() - began)
            scored.append(index.scored)
        full, agree = [], 0
        for n in range(min(20, args.submissions)):
            _, title, text = idea(rng, size + 5000 + n)
            began = time.process_time()
            query = index.vector_of(title, text)
            every = [(sum(query[w] * vector.get(w, 0.0) for w in query), key) for key, (_, vector) in index.published.entries.items()]
            full.append(time.process_time() - began)
            best = max(every)
            found = index.closest(title, text, threshold=threshold)
            agree += (best[0] < threshold and not found) or bool(found and found[0][1] == best[1])
        print(
            f"  {size:>7,} published: index built in {built:6.2f} s; {statistics.mean(times) * 1000:6.2f} ms per submission "
            f"(p99 {sorted(times)[int(len(times) * 0.99) - 1] * 1000:.2f} ms), {statistics.mean(scored):.0f} ideas scored on average "
            f"(most {max(scored)}), {flagged} of {len(times)} flagged"
        )
        print(
            f"           scoring every published idea instead: {statistics.mean(full) * 1000:.1f} ms per submission; "
            f"the same closest published idea (or none above the threshold) for {agree} of {len(full)}"
        )


if __name__ == "__main__":
    main()
