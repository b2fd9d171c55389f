"""Search parts' pages as cut for Pagefind, kept between builds and found again by each page's hash.

An edit re-indexes one part of about 500 ideas (`generator.search_parts`): Pagefind runs over a scratch folder of the
part's pages, each cut to what it reads (`generator.searchable`). Reading those pages again from the site and cutting
them took 0.2-0.3 s on the main thread of an edit at 10,000 ideas, for one page that changed (the reading, most of
it: pages written an hour before are no longer in memory). So `consult build` keeps each part's cut pages in
`.consult/cache/search/part-N.cut` (pickled, then zlib'd: 2.7 MB of cut pages to 0.2 MB, in 0.01 s), each with the
search digest (`pagewriter.search_digest`) of the page it was cut from, and a page whose digest is the one kept is
not read again.

Kept by content: a cut page is right for any page with that digest, so a build that stops half way leaves nothing
wrong, and two builds into different folders only take turns. The file also names the code that cut the pages (the
build's code signature): other code's file is not used. An unreadable file is an empty one: the part's pages are
read and cut from the site, as without it.
"""

from __future__ import annotations

import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from .atomic import write_atomic

Cut: TypeAlias = "dict[str, tuple[str, bytes]]"
"""A part's pages, by file (relative to the site): the search digest of the page, and the page cut for Pagefind."""

LEVEL = 1
"""zlib's compression level: cut pages repeat each other's markup, so the fastest level already makes them 12 times smaller."""

_UNREADABLE = (OSError, zlib.error, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError)


def cuts_folder(root: Path) -> Path:
    """Where `consult build` keeps the search parts' cut pages (git-ignored, with the content cache)."""
    return root / ".consult" / "cache" / "search"


@dataclass(frozen=True)
class CutStore:
    """The cut pages of a site's search parts, for the code that cut them (`made_with`: the build's code signature)."""

    folder: Path
    made_with: str
    reuse: bool = True
    """False: no cut page kept before is used, and the pages cut now are kept (`consult build --clean` trusts no cache)."""

    def path(self, number: int) -> Path:
        return self.folder / f"part-{number}.cut"

    def load(self, number: int) -> Cut:
        """Part `number`'s cut pages as last kept by this code; none when there are none, they cannot be read, or the
        store is not to be reused."""
        if not self.reuse:
            return {}
        try:
            made_with, cut = pickle.loads(zlib.decompress(self.path(number).read_bytes()))
        except _UNREADABLE:
            return {}
        return cut if made_with == self.made_with and isinstance(cut, dict) else {}

    def save(self, number: int, cut: Cut) -> None:
        """Keep part `number`'s cut pages (replacing those kept before, in one rename)."""
        data = pickle.dumps((self.made_with, cut), protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(self.path(number), zlib.compress(data, LEVEL))
