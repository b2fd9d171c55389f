"""Which part of the search index each indexed page belongs to.

Pagefind holds a whole index in memory while it builds it (about 1 GiB for
10,000 ideas), so a large site's index is built in parts of about
`search_part_ideas` ideas each, which the search page merges. Part 0 (the
main bundle, `/pagefind/`) holds every indexed page that is not an idea and
the ideas that hash to it; ideas are spread over the parts by a hash of their
URL, so adding or removing one idea leaves every other idea in its part, and
an edit re-indexes only the part the edited page is in.
"""

from __future__ import annotations

import hashlib
import math

IDEA_PREFIX = "/ideas/"


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
