"""Automated moderation flags: they help editors decide, never publish or drop anything.

Each flag names what triggered it. Personal data is described and partly
masked, so the flag itself does not repeat someone's details in full.

Duplicates: TF-IDF cosine similarity over content words (title counted
twice), against every published idea and every idea still waiting for review
(so the same idea sent twice is flagged before either is accepted). It ranks by shared *distinctive* words,
so two ideas about "hot food on night shifts" match while common words such
as "staff" or "ward" weigh little. An inverted index picks the ideas that can
reach the threshold (those sharing the submission's distinctive words; at most
`CANDIDATE_LIMIT` of each) and only those are scored, so the cost of a
submission does not grow with the number of published ideas. rapidfuzz-style
edit distance was rejected: it scores near-copies well but misses the same idea
worded anew.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import re
import threading
import weakref
from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from better_profanity.utils import get_complete_path_of_file, read_wordlist

from .catalogue import Catalogue
from .forge.base import Flag

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w+])(?:(?:\+44|0044)[\s.-]?(?:\(0\)[\s.-]?|0[\s.-]?)?|\(?0(?!0))(?:\d\)?[\s.-]?){9,10}(?!\d)")
"""A UK number: +44 or 0044 (an optional (0) after), or a leading 0 (not 00: another country's prefix); then nine or
ten digits, spaced by spaces, dots or dashes."""
NHS_NUMBER = re.compile(r"(?<!\d)(\d{3})[\s-]?(\d{3})[\s-]?(\d{4})(?!\d)")
POSTCODE = re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?)\s?\d[ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)
WORD = re.compile(r"[a-z0-9']+")
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "get",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "like",
        "make",
        "more",
        "most",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "out",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)

LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
OFFENSIVE_WORDS = frozenset(w.lower() for w in read_wordlist(get_complete_path_of_file("profanity_wordlist.txt")))
"""better-profanity's maintained word list. Its own matcher is far too slow for 5,000-character ideas
(seconds), so words and two-word phrases are looked up in a set instead, after undoing common leetspeak."""


def nhs_number_valid(digits: str) -> bool:
    """The NHS number modulus 11 check: weights 10..2 on the first nine digits."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def national_digits(number: str) -> str:
    """The digits of a UK phone number after its country code (+44 or 0044) or trunk prefix (0)."""
    digits = re.sub(r"\D", "", number)
    if number.lstrip().startswith(("+44", "0044")):
        digits = digits.removeprefix("00").removeprefix("44")
    return digits.removeprefix("0")


def _mask(text: str) -> str:
    keep = 2 if len(text) > 6 else 1
    return text[:keep] + "…" * 1 + f" ({len(text)} characters)"


def personal_data(fields: dict[str, str]) -> list[Flag]:
    found: list[str] = []
    for name, text in fields.items():
        for match in EMAIL.finditer(text):
            found.append(f"an email address in ‘{name}’ ({_mask(match.group())})")
        for match in PHONE.finditer(text):
            if 9 <= len(national_digits(match.group())) <= 10:
                found.append(f"a UK phone number in ‘{name}’ (starting {match.group()[:4]}…)")
        for match in NHS_NUMBER.finditer(text):
            if nhs_number_valid("".join(match.groups())):
                found.append(f"an NHS number with a valid check digit in ‘{name}’ (starting {match.group(1)}…)")
        for match in POSTCODE.finditer(text):
            found.append(f"a postcode in ‘{name}’ ({match.group().split()[0].upper()} …)")
    return [Flag("possible-personal-data", "Possible personal data: " + "; ".join(found))] if found else []


def offensive_words(text: str) -> list[str]:
    """Words or two-word phrases of the text that are on the word list."""
    raw = re.findall(r"[\w@$!*']+", text.lower())
    words = [w.translate(LEET).strip("'*!") for w in raw]
    hits = [raw[i] for i, w in enumerate(words) if w in OFFENSIVE_WORDS]
    hits += [f"{raw[i]} {raw[i + 1]}" for i in range(len(words) - 1) if f"{words[i]} {words[i + 1]}" in OFFENSIVE_WORDS]
    return hits


def offensive(fields: dict[str, str]) -> list[Flag]:
    words = [f"‘{w}’ in ‘{name}’" for name, text in fields.items() for w in offensive_words(text)]
    if not words:
        return []
    return [Flag("offensive-language", "Offensive language (better-profanity word list): " + ", ".join(dict.fromkeys(words[:10])))]


def stem(word: str) -> str:
    """A very light English stemmer: nights → night, working → work, trained → train."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    words = (w.strip("'") for w in WORD.findall(text.lower()))
    return [stem(w) for w in words if w and w not in STOP_WORDS]


class TermIndex:
    """Unit-length term vectors by key, with an inverted index (term → entries, highest weight first).

    It finds the few entries that can score at least a threshold against a query without scoring
    the rest: a term whose weight in an entry is at most its cut adds at most query·cut to that
    entry's score, and the cuts are chosen (commonest terms first) to add up to less than the
    threshold, so an entry above the threshold has some term above its cut.
    """

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, dict[str, float]]] = {}
        """key → (title, vector)"""
        self.postings: dict[str, list[tuple[float, str]]] = {}
        """term → (−weight, key) of the entries holding it, highest weight first."""

    @classmethod
    def build(cls, items: Iterable[tuple[str, str, dict[str, float]]]) -> TermIndex:
        index = cls()
        for key, title, vector in items:
            index.entries[key] = (title, vector)
            for word, weight in vector.items():
                index.postings.setdefault(word, []).append((-weight, key))
        for posting in index.postings.values():
            posting.sort()
        return index

    def add(self, key: str, title: str, vector: dict[str, float]) -> None:
        self.entries[key] = (title, vector)
        for word, weight in vector.items():
            bisect.insort(self.postings.setdefault(word, []), (-weight, key))

    def candidates(self, query: dict[str, float], threshold: float, limit: int, among: Container[str] | None = None) -> list[str]:
        """Keys of the entries that may score `threshold` or more against `query` (all that share a term when it is 0),
        only those in `among` when given.

        When more than `limit` may, the `limit` with the highest partial scores are kept: the query's weightiest terms
        first, each term's entries highest weight first (at most `SCAN_LIMIT` of a term, `SCAN_BUDGET` in all), adding
        up what each term gives each entry. So the cost per query is bounded however many entries there are.
        """
        terms = sorted((w for w in query if w in self.postings), key=lambda w: (-len(self.postings[w]), w))
        budget = threshold - 1e-9
        cuts: dict[str, float] = {}
        for word in terms:  # commonest first: they take the budget, so fewer entries come from them
            cut = cuts[word] = min(-self.postings[word][0][0], max(0.0, budget) / query[word])
            budget -= query[word] * cut
        partial: dict[str, float] = {}
        scan = SCAN_BUDGET
        for word in sorted(terms, key=lambda w: (-query[w], w)):
            weight, cut = query[word], cuts[word]
            for negative, key in itertools.islice(self.postings[word], min(scan, SCAN_LIMIT)):
                scan -= 1
                if -negative <= cut:
                    break
                if among is None or key in among:
                    partial[key] = partial.get(key, 0.0) - weight * negative
            if scan <= 0:
                break
        if len(partial) <= limit:
            return list(partial)
        return heapq.nlargest(limit, partial, key=partial.__getitem__)


CANDIDATE_LIMIT = 50
"""Most published ideas (and most waiting ones) scored in full for one submission."""
SCAN_LIMIT = 256
"""Most entries read from one term's list for one submission (the highest weights)."""
SCAN_BUDGET = 2048
"""Most entries read from all the terms' lists for one submission."""


class DuplicateIndex:
    """TF-IDF vectors of the published ideas, built once per catalogue content, and of the waiting ideas, kept up to date.

    A submission is scored only against the ideas that share its distinctive words (`TermIndex.candidates`),
    so its cost does not grow with the number of published ideas.
    """

    def __init__(self, ideas: Iterable[tuple[str, str, str]]):
        docs = [(slug, title, Counter(tokens(f"{title} {title} {text}"))) for slug, title, text in ideas]
        df: Counter[str] = Counter()
        for _, _, counts in docs:
            df.update(counts.keys())
        self.count = len(docs)
        self.idf = {word: math.log((1 + self.count) / (1 + n)) + 1 for word, n in df.items()}
        self.published = TermIndex.build((slug, title, self._vector(counts)) for slug, title, counts in docs)
        self.waiting = TermIndex()
        """The waiting ideas last passed to `closest`, weighted by the published ideas' word frequencies."""
        self.scored = 0
        """How many ideas the last `closest` scored in full."""
        self._queries: dict[tuple[str, str], dict[str, float]] = {}
        self._lock = threading.Lock()

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        default = math.log(1 + self.count) + 1
        vec = {w: (1 + math.log(c)) * self.idf.get(w, default) for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    def vector_of(self, title: str, text: str) -> dict[str, float]:
        """A text outside the index, weighted by the index's own word frequencies (the last few are kept)."""
        key = (title, text)
        if key not in self._queries:
            if len(self._queries) >= 256:
                self._queries.clear()
            self._queries[key] = self._vector(Counter(tokens(f"{title} {title} {text}")))
        return self._queries[key]

    def _track_waiting(self, others: Sequence[tuple[str, str, str]]) -> set[str]:
        """Add what is new in `others` (key, title, text) to the waiting index and return their keys.

        Ideas no longer waiting stay in the index (left out of the candidates) until they are as many as
        the waiting ones; then the index is built again: a few additions per call, whatever the numbers."""
        keys = {key for key, _, _ in others}
        if len(self.waiting.entries) > 2 * len(keys) + 64:
            self.waiting = TermIndex.build((key, title, vector) for key, (title, vector) in self.waiting.entries.items() if key in keys)
        for key, title, text in others:
            if key not in self.waiting.entries:
                self.waiting.add(key, title, self._vector(Counter(tokens(f"{title} {title} {text}"))))
        return keys

    def closest(
        self, title: str, text: str, limit: int = 3, others: Sequence[tuple[str, str, str]] = (), threshold: float = 0.0
    ) -> list[tuple[float, str, str]]:
        """The most similar (score, key, title) scoring at least `threshold` (above 0 when it is 0): the indexed ideas and `others` (key, title, text) alike."""
        with self._lock:
            query = self.vector_of(title, text)
            waiting = self._track_waiting(others)
            candidates = [(key, *self.published.entries[key]) for key in self.published.candidates(query, threshold, CANDIDATE_LIMIT)]
            candidates += [(key, *self.waiting.entries[key]) for key in self.waiting.candidates(query, threshold, CANDIDATE_LIMIT, waiting)]
            self.scored = len(candidates)
        scored = [(sum(query[w] * vec.get(w, 0.0) for w in query), key, t) for key, t, vec in candidates]
        return sorted((s for s in scored if s[0] > 0 and s[0] >= threshold), reverse=True)[:limit]


@dataclass(frozen=True)
class WaitingIdea:
    """An idea submitted but not yet accepted or rejected: compared for duplicates like a published one."""

    reference: str
    title: str
    text: str


@lru_cache(maxsize=2)
def _index_for(ideas: tuple[tuple[str, str, str], ...]) -> DuplicateIndex:
    return DuplicateIndex(ideas)


_BY_CATALOGUE: dict[int, tuple[weakref.ref[Catalogue], DuplicateIndex]] = {}
"""The index of the catalogues in use, so finding it costs nothing per submission."""


def duplicate_index(catalogue: Catalogue) -> DuplicateIndex:
    """The published ideas' index: built once per catalogue content (a reload that changes no idea keeps it)."""
    cached = _BY_CATALOGUE.get(id(catalogue))
    if cached is not None and cached[0]() is catalogue:
        return cached[1]
    index = _index_for(tuple((i.slug, i.title, i.text) for i in catalogue.ideas.values()))
    for key in [key for key, (ref, _) in _BY_CATALOGUE.items() if ref() is None]:
        del _BY_CATALOGUE[key]
    _BY_CATALOGUE[id(catalogue)] = (weakref.ref(catalogue), index)
    return index


def duplicates(title: str, text: str, catalogue: Catalogue, waiting: Sequence[WaitingIdea] = ()) -> list[Flag]:
    """A flag naming the closest published ideas and waiting submissions above the threshold."""
    threshold = catalogue.config.moderation.duplicate_threshold
    waiting = [w for w in waiting if w.reference not in catalogue.references]  # accepted meanwhile: published
    others = [(w.reference, w.title, w.text) for w in waiting]
    close = duplicate_index(catalogue).closest(title, text, others=others, threshold=threshold)
    if not close:
        return []
    references = {w.reference for w in waiting}
    published = [c for c in close if c[1] not in references]
    pending = [c for c in close if c[1] in references]
    parts = []
    if published:
        parts.append("published ideas: " + ", ".join(f"‘{t}’ ({score:.0%} similar)" for score, _, t in published))
    if pending:
        parts.append("submissions waiting for review: " + ", ".join(f"{ref} ‘{t}’ ({score:.0%} similar)" for score, ref, t in pending))
    links = tuple((t, f"/ideas/{slug}/") for _, slug, t in published)
    return [Flag("possible-duplicate", "Possible duplicate of " + "; ".join(parts), links)]


def shouting(fields: dict[str, str]) -> list[Flag]:
    loud = []
    for name, text in fields.items():
        letters = [c for c in text if c.isalpha()]
        if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) >= 0.9:
            loud.append(f"‘{name}’")
    return [Flag("all-capitals", "Written in capital letters: " + ", ".join(loud))] if loud else []


def very_short(name: str, text: str, minimum: int) -> list[Flag]:
    count = len(text.split())
    if count >= minimum:
        return []
    return [Flag("very-short", f"Very short: ‘{name}’ has {count} word{'s' if count != 1 else ''} (fewer than {minimum})")]


def flags_for(kind: str, fields: dict[str, str], catalogue: Catalogue, waiting: Sequence[WaitingIdea] = ()) -> tuple[Flag, ...]:
    """Every flag for one submission's public fields, in a stable order.

    `waiting`: the other ideas not yet decided (never the submission itself), for duplicates.
    """
    body_field = {"idea": "idea", "comment": "comment", "topic": "post"}[kind]
    text_fields = {k: v for k, v in fields.items() if k in ("title", body_field, "name") and v}
    found = personal_data(text_fields) + offensive(text_fields)
    if kind == "idea":
        found += duplicates(fields["title"], fields["idea"], catalogue, waiting)
    found += shouting({k: v for k, v in text_fields.items() if k != "name"})
    if kind in ("idea", "topic"):
        found += very_short(body_field, fields[body_field], catalogue.config.moderation.short_words)
    return tuple(found)
