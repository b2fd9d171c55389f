"""The manifest: what each page of the last build read (`generator.reads`), kept in the output folder for the next build.

It is kept in two files:

- `.consult-manifest.pickle`, the base: the whole manifest as one build wrote it,
  under a header naming it by the hash of its bytes;
- `.consult-manifest-changes.pickle`: what the builds since then changed,
  relative to the base it names. That is, the reads and pieces they added,
  the front matters whose hash changed, the pages rendered again and the
  pages gone.

An edit renders a few pages, so it rewrites only the changes, a few kilobytes,
not the whole manifest (16 MB at 10,000 ideas; pickling it took 0.35 s there and
1.4 s at 50,000, holding the interpreter's lock while Pagefind's thread waited).
The base is written again, and the changes emptied, when the tables are compacted
or the changes have grown past an eighth of the base (`Manifest.rewrite_due`).

Reading takes the base, then the changes when they name it. Changes naming
another base are older than the base: a base is written before the changes
are emptied, so the base alone is the latest. A base without readable
changes beside it is not used: the records of the pages rendered since the
base would be lost, and a page kept on its base's reads could show what a
later build wrote. Every page is then rendered again.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import reads
from .atomic import write_atomic
from .reads import Renumber, Tables, Token

MANIFEST = ".consult-manifest.pickle"
CHANGES = ".consult-manifest-changes.pickle"
FORMAT = 6
HEADER = b"consult-manifest "
"""The base file starts with this, then the hash naming it and a newline, then the pickle."""
REWRITE_FRACTION = 8
"""The base is written again once the changes hold more than 1/REWRITE_FRACTION of its reads and pieces, or of its pages."""


class PageRecord(NamedTuple):
    """What the manifest keeps of a page: whether it is in the search index (then a hash of its file), and what it read (see `reads.Reads`).

    A named tuple: a manifest read makes one per page (16,555 at 10,000 ideas), three times quicker than a frozen dataclass.
    """

    digest: str
    indexed: bool
    pairs: tuple[int, ...]
    pieces: tuple[int, ...]
    roots: dict[str, Token]

    def renumbered(self, renumber: Renumber) -> PageRecord:
        return PageRecord(self.digest, self.indexed, renumber.pairs(self.pairs), renumber.pieces(self.pieces), self.roots)

    def plain(self) -> tuple[Any, ...]:
        return tuple(self)


class _PlainUnpickler(pickle.Unpickler):
    """Loads only plain values (dicts, lists, tuples, text, bytes, numbers): a manifest names no class, so a file that does is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"the manifest names {module}.{name}; it holds plain values only")


def _plain(data: bytes, start: int = 0) -> Any:
    stream = io.BytesIO(data)  # shares data's buffer
    stream.seek(start)
    return _PlainUnpickler(stream).load()


@dataclass(frozen=True)
class Base:
    """The manifest file on disk that a manifest's changes are relative to."""

    name: str = ""
    """The hash of its pickle ("" when there is none: the next write is a whole one)."""
    sizes: tuple[int, int] = (0, 0)
    """How many reads and pieces its tables hold."""
    urls: frozenset[str] = frozenset()
    models: Mapping[str, str] = field(default_factory=dict)
    """Its `Tables.models`, as it holds them (the tables' own are updated as pages render)."""


def _changes(
    base: str,
    made_with: str,
    sizes: tuple[int, int],
    tables: Tables,
    models: dict[str, str],
    pages: dict[str, tuple[Any, ...]],
    removed: list[str],
) -> bytes:
    reads_from, pieces_from = sizes
    return pickle.dumps(
        (
            FORMAT,
            base,
            made_with,
            sizes,
            tables.pairs[2 * reads_from :],
            tables.tokens[reads_from:],
            tables.piece_pairs[pieces_from:],
            tables.piece_pieces[pieces_from:],
            models,
            pages,
            removed,
        ),
        protocol=5,
    )


@dataclass
class Manifest:
    """The pages of the last build with what they read (numbered in `tables`), made with code and globals `made_with`.

    Kept as a pickle of plain values only (read back with `_PlainUnpickler`, which
    refuses anything else): at 10,000 ideas it loads several times quicker than CBOR.
    """

    made_with: str = ""
    tables: Tables = field(default_factory=Tables.empty)
    pages: dict[str, PageRecord] = field(default_factory=dict)
    compacted: int = 0
    """How many reads and pieces the tables held when they were last compacted (unused ones are dropped when they have doubled)."""
    base: Base = field(default_factory=Base)
    changed: set[str] = field(default_factory=set)
    """The pages whose records are not the base's (rendered since it was written)."""

    def dump(self) -> bytes:
        """The whole manifest, as the base file holds it (`HEADER`, the pickle's hash, a newline, the pickle)."""
        tables = self.tables
        pages = {url: r.plain() for url, r in sorted(self.pages.items())}
        data = (
            FORMAT,
            self.made_with,
            self.compacted,
            tables.pairs,
            tables.tokens,
            tables.piece_pairs,
            tables.piece_pieces,
            dict(sorted(tables.models.items())),
            tables.grouped,
            tables.runs,
            pages,
        )
        body = pickle.dumps(data, protocol=5)
        return HEADER + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b"\n" + body

    @classmethod
    def load(cls, data: bytes) -> Manifest:
        """A base file's manifest (`dump`); an empty one when data is not one."""
        end = data.find(b"\n", 0, len(HEADER) + 64)
        if not data.startswith(HEADER) or end < 0:
            return cls()
        name = data[len(HEADER) : end].decode("ascii")
        loaded = _plain(data, end + 1)
        if not isinstance(loaded, tuple) or len(loaded) != 11 or loaded[0] != FORMAT:
            return cls()
        _, made_with, compacted, pairs, tokens, piece_pairs, piece_pieces, models, grouped, runs, pages = loaded
        if len(pairs) != 2 * len(tokens) or len(piece_pairs) != len(piece_pieces) or not isinstance(models, dict):
            return cls()
        if not 0 <= grouped <= len(tokens) or (runs[:1] != [0] if grouped else runs) or any(a >= b for a, b in zip(runs, runs[1:] + [grouped])):
            return cls()
        records = dict(zip(pages, map(PageRecord._make, pages.values())))
        tables = Tables(pairs, tokens, piece_pairs, piece_pieces, models, grouped, runs)
        return cls(made_with, tables, records, compacted, Base(name, tables.sizes, frozenset(records), dict(models)))

    def apply(self, data: bytes) -> bool:
        """Apply a changes file (`changes`) to this base's manifest; False when it is not one, or not this base's and not older."""
        loaded = _plain(data)
        if not isinstance(loaded, tuple) or len(loaded) != 11 or loaded[0] != FORMAT:
            return False
        _, base, made_with, sizes, pairs, tokens, piece_pairs, piece_pieces, models, pages, removed = loaded
        if base != self.base.name:
            return bool(base)  # written before this base was: the base holds them
        tables = self.tables
        if made_with != self.made_with or tuple(sizes) != tables.sizes or len(pairs) != 2 * len(tokens) or len(piece_pairs) != len(piece_pieces):
            return False
        if not (isinstance(models, dict) and isinstance(pages, dict) and isinstance(removed, list)):
            return False
        tables.pairs += pairs
        tables.tokens += tokens
        tables.piece_pairs += piece_pairs
        tables.piece_pieces += piece_pieces
        tables.models.update(models)
        for url in removed:
            self.pages.pop(url, None)
        self.pages.update(zip(pages, map(PageRecord._make, pages.values())))
        self.changed = set(pages)
        return True

    def changes(self) -> bytes:
        """What this manifest holds beyond its base, as the changes file holds it."""
        base, tables = self.base, self.tables
        pages = {url: record.plain() for url in sorted(self.changed) if (record := self.pages.get(url)) is not None}
        removed = sorted(base.urls.difference(self.pages))
        models = dict(sorted((identity, digest) for identity, digest in tables.models.items() if base.models.get(identity) != digest))
        return _changes(base.name, self.made_with, base.sizes, tables, models, pages, removed)

    def rewrite_due(self) -> bool:
        """Whether to write the whole manifest rather than its changes: there is no base, or the changes have grown past `REWRITE_FRACTION`."""
        base = self.base
        if not base.name:
            return True
        added = sum(self.tables.sizes) - sum(base.sizes)
        pages = len(self.changed) + len(base.urls.difference(self.pages))
        return added * REWRITE_FRACTION > sum(base.sizes) or pages * REWRITE_FRACTION > len(base.urls)

    def reads_of(self, url: str) -> frozenset[tuple[str, str, Token]]:
        """A page's reads spelled out (identity, access, token), its pieces' included: the same whatever the numbering."""
        record = self.pages[url]
        tables = self.tables
        pairs, pieces, todo = set(record.pairs), set(), list(record.pieces)
        while todo:
            number = todo.pop()
            if number not in pieces:
                pieces.add(number)
                pairs.update(tables.piece_pairs[number])
                todo.extend(tables.piece_pieces[number])
        own = {(reads.ROOT + name, "", value) for name, value in record.roots.items()}
        return frozenset({(tables.pairs[2 * n], tables.pairs[2 * n + 1], tables.tokens[n]) for n in pairs} | own)

    def compact(self) -> bool:
        """Renumber the reads and pieces still used, dropping the others, once the tables have doubled since the last time (a cold build's always).

        The reads are numbered in runs (`reads.grouped_order`), which a replay evaluates in one go.
        Returns whether it did.
        """
        tables = self.tables
        if sum(tables.sizes) <= 2 * self.compacted:
            return False
        used_pieces: set[int] = set()
        todo = [n for record in self.pages.values() for n in record.pieces]
        while todo:
            number = todo.pop()
            if number not in used_pieces:
                used_pieces.add(number)
                todo.extend(tables.piece_pieces[number])
        pieces = sorted(used_pieces)
        used = {n for record in self.pages.values() for n in record.pairs} | {n for p in pieces for n in tables.piece_pairs[p]}
        pairs, runs = reads.grouped_order(tables.pairs, used)
        renumber = Renumber((0, 0), {old: new for new, old in enumerate(pairs)}, {old: new for new, old in enumerate(pieces)})
        self.tables = Tables(
            [part for n in pairs for part in (tables.pairs[2 * n], tables.pairs[2 * n + 1])],
            [tables.tokens[n] for n in pairs],
            [renumber.pairs(tables.piece_pairs[n]) for n in pieces],
            [renumber.pieces(tables.piece_pieces[n]) for n in pieces],
            grouped=len(pairs),
            runs=runs,
        )
        read = set(self.tables.pairs[0::2])
        self.tables.models = {identity: digest for identity, digest in tables.models.items() if identity in read}
        self.pages = {url: record.renumbered(renumber) for url, record in self.pages.items()}
        self.compacted = sum(self.tables.sizes)
        return True


_UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, UnicodeDecodeError, pickle.UnpicklingError)


def read_manifest(output: Path) -> Manifest:
    """The last build's manifest in output: its base with the changes since; an empty one (every page rendered) when either is unreadable."""
    try:
        manifest = Manifest.load((output / MANIFEST).read_bytes())
        if manifest.base.name and manifest.apply((output / CHANGES).read_bytes()):
            return manifest
    except _UNREADABLE:  # none yet, or another version's: a cold build
        pass
    return Manifest()


def write_manifest(output: Path, manifest: Manifest) -> None:
    """Keep what each page read for the next build: its changes since the base, or the whole of it (compacted when due) when
    `Manifest.rewrite_due`, with the changes emptied after it."""
    if not manifest.compact() and not manifest.rewrite_due():
        write_atomic(output / CHANGES, manifest.changes())
        return
    data = manifest.dump()
    write_atomic(output / MANIFEST, data)
    name = data[len(HEADER) : data.index(b"\n")].decode("ascii")
    write_atomic(output / CHANGES, _changes(name, manifest.made_with, manifest.tables.sizes, manifest.tables, {}, {}, []))
