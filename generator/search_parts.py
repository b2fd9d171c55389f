"""The search index in parts: which part each indexed page belongs to, and which parts an edit re-indexes.

Pagefind builds a whole index in one go, so re-indexing costs time in
proportion to the pages indexed together. The index is therefore built in
parts of about `search_part_ideas` ideas each (site.yml), which the search
page merges. Part 0 (the main bundle, `/pagefind/`) holds every indexed page
that is not an idea and the ideas that hash to it; ideas are spread over the parts by a hash of their
URL, so adding or removing one idea leaves every other idea in its part
(unless the number of parts changes, once per `search_part_ideas` ideas).

Each part's signature hashes the signatures of its pages (the ones the page
build records for every indexed page), so a build re-indexes a part only
when one of its pages changed, or the code or Pagefind did. After an edit, the
part of the edited idea's page is made ahead of the page build from a guess
(`prepare_ahead`, `index_ahead`) and installed only if the guess proves right
(`update_index`).

The default part size, 500 ideas, weighs the two sides (measured at 10,000
ideas). An edit re-indexes one part: about 0.1 s for Pagefind to start and
1.5-2 ms a page, so under a second for 500 ideas against 3.5-4.7 s for 2,000.
(Over pages cut to what it reads, `generator.searchable`, Pagefind now starts
in about 0.01 s and takes about 0.5 ms a page: 0.26 s for a part of 492.)
A search fetches, for each part, its entry and metadata once, then one index
chunk (about 19 KiB whatever the part's size) per word: at 10,000 ideas, 20
parts make a one-word search about 60 small files (460 KiB, fetched in
parallel), where 2,000 ideas a part made 15 (190 KiB) and 250 would make 120
(850 KiB). A cold build costs about the same (smaller parts index a little
faster per page, which pays for their start-up), and each Pagefind process
holds less memory.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .cutpages import CutStore
from .hashing import signature
from .pagefind import ENTRY, NO_PAGES, Bundle, Scratch, install_part, part_folder, prepare_part, remove_parts_from, run_part, version
from .pagewriter import page_file

IDEA_PREFIX = "/ideas/"

T = TypeVar("T")

WORKERS = 2
"""Pagefind processes run at once when several parts are re-indexed (each keeps about one and a third cores busy)."""


def part_count(ideas: int, part_ideas: int) -> int:
    return max(1, math.ceil(ideas / part_ideas))


def part_of(url: str, parts: int) -> int:
    """The part an indexed page's URL belongs to (0 for anything but an idea's page)."""
    if parts == 1 or not url.startswith(IDEA_PREFIX):
        return 0
    return int.from_bytes(hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest(), "big") % parts


def plan(urls: list[str], parts: int) -> list[list[str]]:
    """The indexed pages' URLs of each part, sorted."""
    members: list[list[str]] = [[] for _ in range(parts)]
    for url in sorted(urls):
        members[part_of(url, parts)].append(url)
    return members


@dataclass(frozen=True)
class IndexUpdate:
    """What `update_index` did: the parts' signatures (to pass back as `previous` next time) and the parts re-indexed."""

    signatures: tuple[str, ...]
    reindexed: tuple[int, ...]
    peak_mib: float
    """The most memory the Pagefind processes held at once (0 when no part was re-indexed)."""
    ahead: tuple[int, ...] = ()
    """Of the parts re-indexed, those made ahead of the page build (`index_ahead`) and found right: Pagefind did not run again."""

    @property
    def parts(self) -> int:
        return len(self.signatures)


@dataclass(frozen=True)
class MadeAhead:
    """Parts made by `index_ahead`, not installed: each one's signature as guessed, and its bundle's files."""

    parts: dict[int, tuple[str, Bundle]]
    peak_mib: float


NOTHING_AHEAD = MadeAhead({}, 0.0)


def part_signatures(indexed: Mapping[str, str], parts: int, made_with: str) -> tuple[list[list[str]], tuple[str, ...]]:
    """Each part's URLs and signature: its pages' signatures, the code's (`made_with`), Pagefind's version and the number of parts."""
    members = plan(list(indexed), parts)
    made = (made_with, version(), parts)
    return members, tuple(signature(made, tuple((url, indexed[url]) for url in urls)) for urls in members)


def stale_parts(site: Path, signatures: Sequence[str], previous: Sequence[str]) -> tuple[int, ...]:
    """The parts whose signature differs from the last build's, or whose bundle is not complete in site."""
    return tuple(
        number
        for number, value in enumerate(signatures)
        if number >= len(previous) or previous[number] != value or not (site / part_folder(number) / ENTRY).is_file()
    )


def _pool_map(todo: Sequence[T], work: Callable[[T], float]) -> list[float]:
    """work(item) for each item of todo, `WORKERS` at once; the results in todo's order."""
    if not todo:
        return []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(work, todo))


@dataclass(frozen=True)
class PreparedAhead:
    """The parts an edit's own pages change as the build guesses them (`prepare_ahead`), copied for Pagefind: each with
    its guessed signature."""

    parts: list[tuple[int, str, Scratch]]


def _prepare(
    site: Path, number: int, members: Sequence[str], indexed: Mapping[str, str], pages: Mapping[str, bytes], cuts: CutStore | None
) -> Scratch:
    """`prepare_part` for part `number`, whose pages' URLs are `members`, each with its search digest in `indexed`."""
    digests = {page_file(url): indexed[url] for url in members}
    return prepare_part(site, number, list(digests), pages, digests, cuts)


def prepare_ahead(
    site: Path,
    guessed: Mapping[str, str],
    previous: Sequence[str],
    parts: int,
    made_with: str,
    pages: Mapping[str, bytes],
    cuts: CutStore | None = None,
) -> PreparedAhead:
    """Copy for Pagefind the parts that `guessed` (the indexed pages' signatures as the build expects them to be) says
    changed since `previous`; `pages` holds the pages rendered for the guess, not written yet (by file). `cuts`: the
    parts' cut pages kept from before (`generator.cutpages`), used for the pages whose digest they were cut from.

    An edit's own pages are rendered first, their part prepared here and made by `index_ahead` in the search thread
    while the build looks for the other pages to render; `update_index` installs a part made so only when its final
    signature is the one guessed.
    """
    if parts != len(previous):
        return PreparedAhead([])  # every part changes: made once the pages are written
    members, signatures = part_signatures(guessed, parts, made_with)
    todo = stale_parts(site, signatures, previous)
    return PreparedAhead([(number, signatures[number], _prepare(site, number, members[number], guessed, pages, cuts)) for number in todo])


def index_ahead(prepared: PreparedAhead, started: threading.Event | None = None) -> MadeAhead:
    """Pagefind over the parts `prepare_ahead` copied: their files, not installed (`update_index` decides)."""
    made: dict[int, tuple[str, Bundle]] = {}

    def run(item: tuple[int, str, Scratch]) -> float:
        number, signature, scratch = item
        files, peak = run_part(scratch, started)
        made[number] = (signature, files)
        return peak

    peaks = sorted(_pool_map(prepared.parts, run), reverse=True)
    return MadeAhead(made, sum(peaks[:WORKERS]))


def update_index(
    site: Path,
    indexed: Mapping[str, str],
    previous: Sequence[str],
    parts: int,
    made_with: str,
    started: threading.Event | None = None,
    ahead: MadeAhead = NOTHING_AHEAD,
    cuts: CutStore | None = None,
) -> IndexUpdate:
    """Bring site's search index up to date: re-index the parts whose pages changed, drop parts the site no longer has.

    `indexed` maps each indexed page's URL to its signature; `previous` holds
    the part signatures of the build the site folder holds (empty for a cold
    build); `made_with` is the code's signature. `started` is set once a Pagefind process runs
    (`index_search` sets it in any case when this returns or fails). `ahead`: parts made by `index_ahead`, each
    installed as it is when its signature is the one this finds, made again otherwise. `cuts`: the parts' cut pages
    kept from before (`generator.cutpages`), used for the pages whose digest they were cut from, and kept anew.
    """
    members, signatures = part_signatures(indexed, parts, made_with)
    todo = stale_parts(site, signatures, previous)
    right = tuple(number for number in todo if number in ahead.parts and ahead.parts[number][0] == signatures[number])

    def index(number: int) -> float:
        if number in right:
            install_part(site, number, ahead.parts[number][1])
            return 0.0
        made, peak = run_part(_prepare(site, number, members[number], indexed, NO_PAGES, cuts), started)
        install_part(site, number, made)
        return peak

    peaks = sorted(_pool_map(todo, index), reverse=True)
    remove_parts_from(site, parts)
    return IndexUpdate(signatures, todo, max(sum(peaks[:WORKERS]), ahead.peak_mib if right else 0.0), right)
