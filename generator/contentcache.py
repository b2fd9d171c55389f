"""Parsed content files kept between builds, found again by the hash of each file's bytes.

A file is parsed (YAML front matter, pydantic validation, later its Markdown)
only when its bytes are new. Each file's record holds its content hash and the
size and modification time it had when last seen:

- same size and modification time: the record is used without reading the
  file (the fast path of a warm build, as git's index does);
- otherwise the file is read and hashed (blake2b): the same bytes reuse the
  record, so a fresh clone (a checkout resets every modification time) with
  `.consult/` restored parses nothing it already knows;
- when many files' times changed at once (a fresh checkout), git's index is
  asked first (`generator.gitindex`): a file git finds unmodified, whose blob
  id is the one recorded, reuses its record unread (0.6 s at 10,000 ideas).

`consult build` keeps the records in SQLite (`.consult/cache/content.sqlite`),
pickled in packs of up to `PACK` files each: unpickling 40,000 records one by
one took 0.45 s at 10,000 ideas, in packs 0.27 s (a pack shares the class
references and repeated strings that a pickle per record spells out again).
The listing names each file's pack; a pack is never changed and its number never
given to another, so a file's pack number names one record. A build that
parsed one changed file writes a pack of that one record and points the file
at it, not the whole cache; the record left behind in the old pack is skipped
when loading, and the store is rewritten whole once such leftovers or small
packs pile up (`_worth_repacking`). The listing (each file's modification time,
size and pack) is one pickled row of its own (`listing`): a fresh checkout,
which restates every file, rewrites it and not the packs (0.5 s to 0.07 s at
10,000 ideas). In one row it loads in 0.02 s at 10,000 ideas, where two tables
of 40,000 rows each took 0.1-0.14 s, on the path of every edit. A save that
changed a few files lists them anew in a table (`relisted`, read over the
listing): writing the listing whole, 3.4 MB at 10,000 ideas, took 0.1 s, and is
done once `RELISTED_AT_MOST` files are relisted (a fresh checkout, say).
Bodies are kept apart from the records, in a table keyed by the file's hash
(`texts`: its Markdown and rendered HTML, 60% of the bytes at 10,000 ideas). A
record comes back without them (`loader.Entry.stored`), and a body is read the
first time a page or an open-data record asks for it (`TextStore`): an edit
reads the bodies of the few pages it renders, not all 40,000, and loading the
records unpickles 0.28 s instead of 0.44 s at 10,000 ideas. The table is keyed
by content, so a body read after the store was rewritten (the build saves it
while Pagefind works) is still the body of that entry's text.
`consult serve` keeps the cache in memory only.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
import sys
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from .collector import long_lived
from .errors import ConsultError, Problem
from .gitindex import blob_id, unmodified_blobs
from .hashing import package_versions, size_and_mtime

if TYPE_CHECKING:
    from .loader import Entry

VERSION = 8
"""Bump when the meaning of a record changes."""

PACKAGES = ("pydantic", "PyYAML", "markdown-it-py", "nh3")
"""Installed packages whose version can change a parsed entry or its rendered HTML."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS packs (id INTEGER PRIMARY KEY AUTOINCREMENT, size INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS listing (id INTEGER PRIMARY KEY CHECK (id = 0), data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS relisted (path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, pack INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS texts (digest TEXT PRIMARY KEY, body TEXT NOT NULL, html TEXT NOT NULL);
"""

Listing: TypeAlias = "dict[str, tuple[int, int, int]]"
"""Each file's (modification time, size, pack) by its key: the pack holds its record (`listing` in the store)."""

GONE = 0
"""The pack of a file `relisted` as removed (a pack's number is never 0)."""

RELISTED_AT_MOST = 1024
"""Files listed anew (`relisted`) before the listing is written whole again, with none relisted."""

GIT_AFTER = 64
"""Ask git's index (`generator.gitindex`) once this many known files have a new size or modification time."""

ONE_BY_ONE = 200
"""Bodies a process reads one at a time from the store before it reads all the others at once (`TextStore`)."""

PACK = 256
"""Records pickled together in one row (unpickling time levels off from about 50; a step of `CacheLoading` is one pack)."""


Parsed: TypeAlias = "tuple[Entry[Any] | None, list[Problem]]"
"""What parsing one file gives: its entry (None when it has errors) and its problems."""


class FileState(NamedTuple):
    """What the cache knows of a file without parsing it (a named tuple: loading the cache makes one per file)."""

    mtime_ns: int
    size: int
    digest: bytes
    blob: bytes
    """The file's git blob id (`gitindex.blob_id`)."""


@dataclass(frozen=True)
class Checkout:
    """A build's content files as its fingerprint saw them: root, the content folders, and each file's (size, modification time) by path."""

    root: Path
    folders: Sequence[str]
    seen: Mapping[str, tuple[int, int]]
    """Keyed as `freshness.FileStates` is: paths below `os.path.join(root, folder)`."""

    def changed_since(self, recorded: Mapping[str, tuple[int, ...]], enough: int | None = None) -> int:
        """How many files recorded (key → (modification time, size, ...)) have another size or time now,
        counting no further than `enough` when given (a fresh checkout restates them all)."""
        prefix = os.path.join(self.root, "")
        cut, known, slash = len(prefix), recorded.get, os.sep == "/"
        changed = 0
        for path, (size, mtime_ns) in self.seen.items():
            if path.startswith(prefix):
                was = known(path[cut:] if slash else path[cut:].replace(os.sep, "/"))
                if was is not None and (was[0] != mtime_ns or was[1] != size):
                    changed += 1
                    if changed == enough:
                        break
        return changed


@dataclass(slots=True)
class Record:
    state: FileState
    parsed: Parsed
    """The parse result (an Entry or None, and its problems), pickled only when the cache is saved:
    the build adds the rendered Markdown to the entry after parsing."""


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that reads the store at path and never creates or changes it."""
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)


class TextStore:
    """The bodies of a store's records (`texts`), read one entry at a time when first asked for.

    Each process opens its own read-only connection (a forked one never uses its parent's).
    A process that asks for more than `ONE_BY_ONE` reads the rest in one query (a code change
    renders every page again: 40,000 bodies one by one took 0.58 s at 10,000 ideas, all at once 0.15 s).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._asked = 0
        self._all: dict[str, tuple[str, str]] | None = None

    def texts(self, digest: str, path: str) -> tuple[str, str]:
        """The Markdown body and rendered HTML of the file whose text hashes to digest (at path, for the message)."""
        if self._pid != os.getpid():
            self._db = _read_only(self.path)
            self._pid, self._asked, self._all = os.getpid(), 0, None
        assert self._db is not None
        row: tuple[str, str] | None = None
        reason = "its text is not there"
        try:
            if self._all is None and self._asked >= ONE_BY_ONE:
                self._all = {digest: (body, html) for digest, body, html in self._db.execute("SELECT digest, body, html FROM texts")}
            self._asked += 1
            if self._all is not None:
                row = self._all.get(digest)
            else:
                row = self._db.execute("SELECT body, html FROM texts WHERE digest = ?", (digest,)).fetchone()
        except sqlite3.Error as error:
            reason = str(error)
        if row is None:
            raise self._changed(reason, path)
        return row

    def _changed(self, reason: str, wanted_for: str) -> ConsultError:
        return ConsultError(
            f"The content cache {self.path} changed while it was read ({reason}; wanted for {wanted_for}). "
            "Run the command again; if it happens again, delete .consult/cache and build once more."
        )

    def many(self, digests: Sequence[str]) -> dict[str, tuple[str, str]]:
        """The bodies of many files at once (a store written whole again copies them)."""
        found: dict[str, tuple[str, str]] = {}
        with closing(_read_only(self.path)) as db:
            for start in range(0, len(digests), 500):
                chunk = digests[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(
                    (digest, (body, html))
                    for digest, body, html in db.execute(f"SELECT digest, body, html FROM texts WHERE digest IN ({marks})", chunk)
                )
        if len(found) < len(set(digests)):
            raise self._changed("a text is not there", "a file it kept")
        return found


class _Stored:
    """Stands, in a pickled record, for the store it is loaded from (`_loading_texts`): pickled once per pack."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _loading_texts, ()


_STORED = _Stored()
_LOADING: list[TextStore] = []
"""The store whose packs are being unpickled (`CacheLoading.step`)."""


def _loading_texts() -> TextStore:
    return _LOADING[-1]


class KeptApart:
    """A rendered entry, pickled without its body and HTML (they go to `texts`): it unpickles as the entry, its texts
    read from the store it is loaded from when asked for. Pickled straight from the entry: copying each entry without
    its texts first (`dataclasses.replace`) took a third of a cold build's cache saving at 10,000 ideas."""

    __slots__ = ("entry",)

    def __init__(self, entry: Entry[Any]) -> None:
        self.entry = entry

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.entry.flat("", "", _STORED)


def file_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def cache_version() -> str:
    """Changes when the code or packages that make a parsed entry change, so stale records are never reused."""
    from . import config, frontmatter, gitindex, loader, markdown, schema

    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{VERSION}\0{sys.version_info[:2]}\0".encode())
    digest.update(f"{package_versions(PACKAGES)}\0".encode())
    for module in (schema, config, frontmatter, markdown, loader, gitindex):
        digest.update(Path(module.__file__ or "").read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


class ContentCache:
    """Parsed files keyed by path, valid while the file's bytes hash the same.

    `get` answers from the record when the file is unchanged and otherwise
    returns the file's state for `put`; `prune` forgets files that are gone.
    """

    def __init__(self) -> None:
        self.entries: dict[str, Record] = {}
        self._origin: Path | None = None
        """The store these records were loaded from, when it was current: `save` there writes only the changes."""
        self._listed: Listing = {}
        """The files as that store lists them: each one's pack, for the listing a save writes whole."""
        self._changed: set[str] = set()
        self._restated: set[str] = set()
        self._removed: set[str] = set()
        self._replaced_texts: set[str] = set()
        """Digests of the entries replaced or removed since the last save: their bodies leave the store unless another file has the same text."""
        self._blobs: dict[str, bytes] = {}
        """Blob ids of the files git finds unmodified, when `load` saw many files' states changed (`Checkout`)."""

    def get(self, key: str, path: str, seen: tuple[int, int] | None = None) -> tuple[Parsed | None, FileState]:
        """(parse result or None, the file's state now) for the file at path, known to the cache as key.

        `seen` is the file's (size, modification time) when the caller looked already (the build's fingerprint).
        """
        size, mtime_ns = seen or size_and_mtime(path)
        record = self.entries.get(key)
        if record and record.state.mtime_ns == mtime_ns and record.state.size == size:
            return record.parsed, record.state
        blob = self._blobs.get(key)
        if record and blob is not None and record.state.blob == blob:  # git has these bytes unmodified: the record holds
            record.state = FileState(mtime_ns, size, record.state.digest, blob)
            self._restated.add(key)
            return record.parsed, record.state
        with open(path, "rb") as handle:
            data = handle.read()
            state = FileState(mtime_ns, size, file_digest(data), blob_id(data))
        if record and record.state.digest == state.digest:
            record.state = state
            self._restated.add(key)
            return record.parsed, state
        return None, state

    def get_many(
        self, keys: Sequence[str], paths: Sequence[str], seen: Mapping[str, tuple[int, int]] | None = None
    ) -> list[tuple[Parsed | None, FileState]]:
        """`get` for each key and path, in order: a file the caller saw with the size and modification time recorded
        is answered here, without a call each (200,239 files at 50,000 ideas, on the path of every edit)."""
        entries, get = self.entries, self.get
        found: list[tuple[Parsed | None, FileState]] = []
        for key, path in zip(keys, paths, strict=True):
            known = seen.get(path) if seen else None
            if known is not None and (record := entries.get(key)) is not None:
                state = record.state
                if state.size == known[0] and state.mtime_ns == known[1]:
                    found.append((record.parsed, state))
                    continue
            found.append(get(key, path, known))
        return found

    def put(self, key: str, state: FileState, parsed: Parsed) -> None:
        self._replace_texts(key)
        self.entries[key] = Record(state, parsed)
        self._changed.add(key)
        self._removed.discard(key)

    def prune(self, seen: Collection[str]) -> None:
        """Forget the files not in seen (gone since the cache was saved)."""
        if len(seen) == len(self.entries) and all(map(self.entries.__contains__, seen)):
            return  # as many files, all known: none gone (the usual case, told without two sets of every file)
        for key in set(self.entries) - set(seen):
            self._replace_texts(key)
            del self.entries[key]
            self._removed.add(key)
            self._changed.discard(key)
            self._restated.discard(key)

    def _replace_texts(self, key: str) -> None:
        record = self.entries.get(key)
        if record is not None and record.parsed[0] is not None:
            self._replaced_texts.add(record.parsed[0].digest)

    @classmethod
    def load(cls, path: Path, checkout: Checkout | None = None) -> ContentCache:
        """The records saved at path; an empty cache when there are none, or they were made by other code.

        With `checkout` (the files as the build's fingerprint saw them): when `GIT_AFTER` or more
        recorded files have another size or modification time now, git's index is asked, beside
        the loading, which of them are unmodified (`gitindex.unmodified_blobs`).
        """
        loading = CacheLoading(path)
        if checkout is not None:
            loading.see(checkout)
        return loading.finish()

    def save(self, path: Path) -> None:
        """Write the records to path: only what changed when they were loaded from there, else all of them."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._origin == path.resolve():
            try:
                self._save_changes(path)
                return
            except sqlite3.Error:
                pass  # rewritten whole below
        self._save_all(path)

    def _write_packs(self, db: sqlite3.Connection, keys: set[str], new_store: bool) -> dict[str, int]:
        """Pickle the records of keys in packs (path order); each file's pack. Rendered bodies go to `texts`
        (in a `new_store`, the bodies not read yet too, copied from the store that has them)."""
        entries, ordered = self.entries, sorted(keys)
        files: dict[str, int] = {}
        texts: list[tuple[str, str, str]] = []
        elsewhere: dict[TextStore, list[str]] = {}
        """Bodies not read yet, by the store that has them (a store written whole again copies them)."""
        for start in range(0, len(ordered), PACK):
            chunk = ordered[start : start + PACK]
            records = []
            for key in chunk:
                record = entries[key]
                entry, problems = record.parsed
                if entry is not None and entry.digest and entry.rendered:
                    if entry.stored is None:
                        texts.append((entry.digest, entry.body, entry.html))
                    else:
                        elsewhere.setdefault(entry.stored, []).append(entry.digest)
                    record_parsed: Parsed | tuple[KeptApart, list[Problem]] = (KeptApart(entry), problems)
                else:
                    record_parsed = record.parsed
                records.append((key, record.state.digest, record.state.blob, record_parsed))
            pack = db.execute(
                "INSERT INTO packs (size, data) VALUES (?, ?)", (len(chunk), pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))
            ).lastrowid
            assert pack is not None
            files.update(dict.fromkeys(chunk, pack))
        for store, digests in elsewhere.items() if new_store else ():
            texts.extend((digest, body, html) for digest, (body, html) in store.many(digests).items())
        db.executemany("INSERT OR IGNORE INTO texts (digest, body, html) VALUES (?, ?, ?)", texts)
        return files

    def _write_listing(self, db: sqlite3.Connection, written: Mapping[str, int]) -> Listing:
        """Write the listing whole, none relisted: each file's modification time, size and pack (`written`, for the
        records just written; else the pack the store listed it in)."""
        listed = self._listed
        listing = {
            key: (record.state.mtime_ns, record.state.size, written[key] if key in written else listed[key][2])
            for key, record in self.entries.items()
        }
        db.execute("INSERT OR REPLACE INTO listing (id, data) VALUES (0, ?)", (pickle.dumps(listing, protocol=pickle.HIGHEST_PROTOCOL),))
        db.execute("DELETE FROM relisted")
        return listing

    def _relist(self, db: sqlite3.Connection, written: Mapping[str, int]) -> Listing:
        """List anew the files changed, restated or removed since the store was loaded (`relisted`), or write the
        listing whole when that makes more than `RELISTED_AT_MOST` relisted."""
        listing, listed = dict(self._listed), self._changed | self._restated
        if not listed and not self._removed:
            return listing
        (relisted,) = db.execute("SELECT count(*) FROM relisted").fetchone()
        if relisted + len(listed) + len(self._removed) > RELISTED_AT_MOST:
            return self._write_listing(db, written)
        rows: list[tuple[str, int, int, int]] = []
        for key in sorted(listed):
            state = self.entries[key].state
            listing[key] = (state.mtime_ns, state.size, written[key] if key in written else listing[key][2])
            rows.append((key, *listing[key]))
        for key in sorted(self._removed):
            listing.pop(key, None)
            rows.append((key, 0, 0, GONE))
        db.executemany("INSERT OR REPLACE INTO relisted (path, mtime_ns, size, pack) VALUES (?, ?, ?, ?)", rows)
        return listing

    def _save_changes(self, path: Path) -> None:
        with closing(sqlite3.connect(path)) as db, db:
            listing = self._relist(db, self._write_packs(db, self._changed, new_store=False))
            if self._replaced_texts:
                kept = {entry.digest for record in self.entries.values() if (entry := record.parsed[0]) is not None}
                db.executemany("DELETE FROM texts WHERE digest = ?", [(digest,) for digest in sorted(self._replaced_texts - kept)])
            if self._changed or self._removed:  # the packs no file is listed in any more
                live = {pack for _mtime_ns, _size, pack in listing.values()}
                unlisted = [(pack,) for (pack,) in db.execute("SELECT id FROM packs").fetchall() if pack not in live]
                db.executemany("DELETE FROM packs WHERE id = ?", unlisted)
            packs, packed = db.execute("SELECT count(*), coalesce(sum(size), 0) FROM packs").fetchone()
        self._listed = listing
        self._changed.clear()
        self._restated.clear()
        self._removed.clear()
        self._replaced_texts.clear()
        if _worth_repacking(len(self.entries), packs, packed):
            self._save_all(path)

    def _save_all(self, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            with closing(sqlite3.connect(tmp)) as db, db:
                db.executescript(SCHEMA)
                db.execute("INSERT INTO meta VALUES ('version', ?)", (cache_version(),))
                listing = self._write_listing(db, self._write_packs(db, set(self.entries), new_store=True))
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._origin = path.resolve()
        self._listed = listing
        self._changed.clear()
        self._restated.clear()
        self._removed.clear()
        self._replaced_texts.clear()


def _worth_repacking(files: int, packs: int, packed: int) -> bool:
    """Whether a store whose `packs` hold `packed` records for `files` files is better rewritten whole:
    when over a quarter of its records are left behind by later changes, or edits have left many small packs."""
    slack = max(files // 4, 64)
    return packed - files > slack or packs > 2 * (files // PACK + 1) + 64


_UNREADABLE = (sqlite3.Error, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError)
"""What a missing, damaged or other code's store raises: the cache is then empty (a slower build, never a wrong one)."""


class CacheLoading:
    """`ContentCache.load`, a chunk of records at a time: the caller can do something else between chunks.

    `consult build` takes its fingerprint in a forked process while this loads
    (`generator.startup`), and gives the files it saw to `see` once it has them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.cache = ContentCache()
        self.texts = TextStore(self.path)
        """Where the loaded records' bodies are read from when asked for."""
        self._db: sqlite3.Connection | None = None
        self._rows: sqlite3.Cursor | None = None
        self._listed: Listing = {}
        """Each file's modification time, size and pack: a record found in another pack was left behind by a later change."""
        self._opened = False
        self._readable = False
        """Opened, made by this code, and read without error so far: what git is asked about is used."""
        self._git: ThreadPoolExecutor | None = None
        self._asking: Future[dict[str, bytes]] | None = None

    def _open(self) -> None:
        self._opened = True
        try:
            self._db = _read_only(self.path)
            if self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone() != (cache_version(),):
                self._close()
                return
            listing = self._db.execute("SELECT data FROM listing WHERE id = 0").fetchone()
            listed: Listing = pickle.loads(listing[0]) if listing is not None else {}
            for key, mtime_ns, size, pack in self._db.execute("SELECT path, mtime_ns, size, pack FROM relisted"):
                if pack == GONE:
                    listed.pop(key, None)
                else:
                    listed[key] = (mtime_ns, size, pack)
            self._listed = listed
            self._rows = self._db.execute("SELECT id, data FROM packs ORDER BY id")
            self._readable = True
        except _UNREADABLE:
            self._fail()

    def step(self) -> bool:
        """Load one more pack of records (`PACK`); False once every record is loaded (or the store could not be read)."""
        if not self._opened:
            self._open()
        if self._rows is None:
            return False
        entries, listed = self.cache.entries, self._listed
        try:
            with long_lived():
                row = self._rows.fetchone()
                if row is not None:
                    pack, data = row
                    _LOADING.append(self.texts)
                    try:
                        records = pickle.loads(data)
                    finally:
                        _LOADING.pop()
                    for key, digest, blob, parsed in records:
                        known = listed.get(key)
                        if known is not None and known[2] == pack:
                            entries[key] = Record(FileState(known[0], known[1], digest, blob), parsed)
        except _UNREADABLE:
            self._fail()
            return False
        if row is not None:
            return True
        self._close()
        self.cache._origin = self.path  # read whole: `save` there writes only the changes
        self.cache._listed = self._listed
        return False

    def see(self, checkout: Checkout) -> None:
        """The files as the build's fingerprint saw them: when `GIT_AFTER` or more recorded ones have another
        size or modification time now, git's index is asked which are unmodified (a subprocess, beside the loading)."""
        if not self._opened:
            self._open()
        if self._asking is None and self._readable and checkout.changed_since(self._listed, GIT_AFTER) >= GIT_AFTER:
            self._git = ThreadPoolExecutor(max_workers=1)
            self._asking = self._git.submit(unmodified_blobs, checkout.root, checkout.folders)

    def finish(self) -> ContentCache:
        """Load the rest, and what git answered (`see`); the cache."""
        while self.step():
            pass
        if self._asking is not None and self._git is not None:
            blobs = self._asking.result()
            self._git.shutdown()
            if self._readable:
                self.cache._blobs = blobs
        return self.cache

    def abandon(self) -> None:
        """Stop loading (the build found nothing to do)."""
        self._close()
        if self._git is not None:
            self._git.shutdown(wait=False, cancel_futures=True)

    def _fail(self) -> None:
        self._readable = False
        self.cache.entries.clear()
        self._close()

    def _close(self) -> None:
        self._rows = None
        if self._db is not None:
            self._db.close()
            self._db = None
