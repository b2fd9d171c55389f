"""Duplicate scoring at scale: only the ideas sharing a submission's distinctive words are scored, at most
`CANDIDATE_LIMIT` of each kind, and the flags are those a full comparison gives."""

from __future__ import annotations

import random

from intake.moderation import CANDIDATE_LIMIT, DuplicateIndex, tokens

VOCABULARY = [f"{stem}{n}" for stem in ("rota", "ward", "shift", "badge", "locker", "canteen", "parking", "form") for n in range(250)]
COMMON = ["staff", "team", "shift", "ward", "time", "help", "night", "patient", "care", "better"]


def generated_ideas(count: int, seed: int = 3) -> list[tuple[str, str, str]]:
    """`count` ideas of common words and a few of 2,000 rarer ones, like a large consultation's."""
    rng = random.Random(seed)
    ideas = []
    for n in range(count):
        words = rng.sample(COMMON, 6) + rng.sample(VOCABULARY, 4)
        rng.shuffle(words)
        ideas.append((f"idea-{n}", " ".join(words[:4]).capitalize(), " ".join(words) + "."))
    return ideas


def full_comparison(index: DuplicateIndex, title: str, text: str, threshold: float) -> list[tuple[float, str, str]]:
    """Every published idea scored, as the index did before it had an inverted index."""
    query = index.vector_of(title, text)
    scored = [(sum(query[w] * vector.get(w, 0.0) for w in query), key, t) for key, (t, vector) in index.published.entries.items()]
    return sorted((s for s in scored if s[0] > 0 and s[0] >= threshold), reverse=True)[:3]


def test_the_ideas_scored_stay_bounded_and_the_closest_duplicate_is_still_found() -> None:
    ideas = generated_ideas(20_000)
    target = (
        "hot-food-at-night",
        "Hot food for staff working nights",
        "The canteen closes at 8pm, so night staff eat crisps from a vending machine. Keep one hot counter open.",
    )
    index = DuplicateIndex([*ideas[:10_000], target, *ideas[10_000:]])

    found = index.closest(
        "Hot meals for night staff", "Night staff cannot get a hot meal: the canteen closes at 8pm. Keep a hot counter open.", threshold=0.3
    )

    assert found and found[0][1] == "hot-food-at-night"
    assert index.scored <= CANDIDATE_LIMIT
    for title, text in (ideas[5][1:], ideas[15_000][1:], ("Badge", "badge17 locker3 rota200")):
        assert index.closest(title, text, threshold=0.3) == full_comparison(index, title, text, 0.3)
        assert index.scored <= 2 * CANDIDATE_LIMIT


def test_waiting_ideas_are_indexed_as_they_come_and_dropped_when_decided() -> None:
    index = DuplicateIndex(generated_ideas(500))
    waiting = [("TH-AAAAA", "Lockers for night staff", "Lockers that fit a coat and a bag, for night staff.")]
    for number in range(300):  # ideas waiting for review, each new one compared with those before it
        waiting.append((f"TH-B{number:04d}", *generated_ideas(1, seed=number)[0][1:]))
        index.closest(*waiting[-1][1:], others=waiting[:-1], threshold=0.3)
        assert index.scored <= 2 * CANDIDATE_LIMIT

    close = index.closest("Lockers for staff on nights", "Night staff need lockers that fit a coat and a bag.", others=waiting, threshold=0.3)
    assert close[0][1] == "TH-AAAAA"
    decided = [w for w in waiting if w[0] != "TH-AAAAA"]
    assert all(
        key != "TH-AAAAA"
        for _, key, _ in index.closest(
            "Lockers for staff on nights", "Night staff need lockers that fit a coat and a bag.", others=decided, threshold=0.3
        )
    )


def test_the_cut_never_drops_an_idea_above_the_threshold() -> None:
    """With few matches (below the candidate limit), the inverted index finds exactly what scoring every idea finds."""
    index = DuplicateIndex(generated_ideas(3000, seed=11))
    rng = random.Random(5)
    for _ in range(40):
        _, title, text = generated_ideas(1, seed=rng.randrange(10_000))[0]
        text = " ".join(rng.sample(tokens(text), 5))
        for threshold in (0.2, 0.35, 0.5):
            assert index.closest(title, text, threshold=threshold) == full_comparison(index, title, text, threshold)
