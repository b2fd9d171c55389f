"""Related ideas kept between builds, found again by what decides them.

`views._link_related` ranks every idea's candidates by challenge, tags and date: 0.1 s at 10,000 ideas and
0.7 s at 50,000, on the path of every edit, though an edit of an idea's text changes none of what it reads. So
`consult build` keeps the answer in `.consult/cache/related.pickle`, under a hash of its inputs (each idea's slug,
challenge, tags and date, in the views' order) and of the code (the build's code signature): hashing the inputs
and taking the kept answer back took 0.03 s at 10,000 ideas. Any other input (a new idea, a changed tag or date,
other code) finds the related ideas afresh and keeps them. An unreadable file is an empty one.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_atomic
from .views import IdeaView, _link_related

RELATED_FILE = "related.pickle"

_UNREADABLE = (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError, KeyError)


def related_file(cache_folder: Path) -> Path:
    """Where the kept related ideas are, in the content cache's folder (git-ignored)."""
    return cache_folder / RELATED_FILE


def related_inputs(ideas: Sequence[IdeaView], made_with: str) -> bytes:
    """A hash of all that decides the ideas' related ideas (`views._link_related`), and of the code that finds them."""
    decided = [(idea.entry.slug, idea.entry.meta.challenge, list(idea.entry.meta.tags), idea.date.toordinal()) for idea in ideas]
    digest = hashlib.blake2b(made_with.encode(), digest_size=16)
    # their `repr`, which equal values always give: a pickle's bytes also say which strings are one object (a tag
    # parsed once per file, or shared by the entries of one pack of the content cache), so equal inputs missed
    digest.update(repr(decided).encode("utf-8", "surrogatepass"))
    return digest.digest()


@dataclass(frozen=True)
class RelatedStore:
    """The related ideas of the last build, for the code that found them (`made_with`: the build's code signature)."""

    path: Path
    made_with: str
    reuse: bool = True
    """False: what is kept is not used, and what is found now is kept (`consult build --clean` trusts no cache)."""
    find: Callable[[Sequence[IdeaView]], None] = _link_related
    """How related ideas are found afresh."""

    def link(self, ideas: Sequence[IdeaView]) -> bool:
        """Set each idea's `related`: as kept, when it was kept for these same inputs; else found afresh, and kept.
        Whether the kept ones were used."""
        ideas = list(ideas)
        key = related_inputs(ideas, self.made_with)
        kept = self._load(key, len(ideas))
        if kept is not None:
            for idea, places in zip(ideas, kept, strict=True):
                idea.related = [ideas[place] for place in places]
            return True
        self.find(ideas)
        place = {id(idea): number for number, idea in enumerate(ideas)}
        self._save(key, [[place[id(other)] for other in idea.related] for idea in ideas])
        return False

    def _load(self, key: bytes, count: int) -> list[list[int]] | None:
        if not self.reuse:
            return None
        try:
            kept_key, kept = pickle.loads(self.path.read_bytes())
        except _UNREADABLE:
            return None
        if kept_key != key or not isinstance(kept, list) or len(kept) != count:
            return None
        try:
            if all(type(place) is int and 0 <= place < count for places in kept for place in places):
                return kept
        except TypeError:  # not lists of places
            pass
        return None

    def _save(self, key: bytes, places: list[list[int]]) -> None:
        write_atomic(self.path, pickle.dumps((key, places), protocol=pickle.HIGHEST_PROTOCOL))
