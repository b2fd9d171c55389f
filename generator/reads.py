"""What each page's templates read while rendering, and whether they would read the same now.

A page's dependencies are found, not listed. While a page renders, the theme's
Jinja environment (`theme.ConsultEnvironment`) reports every attribute or item
it reads from a view, and every name it reads from the page's own context, to
the active `Recorder`. A read is known by its identity and access:

- identity: a view's kind and key (`IdeaView:better-rotas`), `views` for the
  site's views, or `root:<name>` for a name of the context every page shares;
- access: `.attribute`, `[item]` (JSON), `:[slice]` or `` for the root name itself;

and kept with a token of the value it found: short text, whole numbers and
None as they are, dates as ISO text, lists of text by their JSON (hashed when
long), views by identity (their own attributes are reads of their own), a
content file's front matter by the hash of the file's text, anything else by a
short hash (`fingerprint`). Within a build a read's value is the same
on every page, so each read is tokenised once and numbered.

A page's record holds the numbers of its own reads, the names it read from its
own context (with their tokens), and the pieces it includes: a fragment or a
memoised macro call (an idea's card) is rendered once per build, and its reads
are kept once, as a piece the pages that show it refer to. On the next build,
`Replay` evaluates each recorded read and each piece once against the new views
(a front matter's fields only when its file's text changed since they were read:
they are a function of it, `Tables.models`);
a page whose reads all give the same token would render byte for byte the same,
since rendering is a deterministic function of what it read, of the code and
theme, and of the environment's globals (`globals_signature`).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import itertools
import json
import operator
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from operator import attrgetter
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any

from jinja2 import Environment, Undefined
from jinja2.runtime import Macro
from jinja2.utils import missing
from markupsafe import Markup
from pydantic import BaseModel

Pair = tuple[str, str]
"""(identity, access): what was read."""
Token = str | bytes | int | None
"""What the value read was: equal tokens, equal values as a template shows them."""
PieceKey = tuple[Any, ...]
"""("fragment" or "memo", names, tokens of the arguments): a piece of markup reused across pages."""

IDENTIFIED: set[type] = set()
"""Classes whose instances are known by `read_identity` (the views): their attributes are reads of their own."""

FROM_ENTRY: dict[type, frozenset[str]] = {}
"""Per view class, the attributes whose value comes from the view's content file alone (`from_entry`)."""

ENTRY_FIELDS: dict[str, frozenset[str]] = {}
"""Per view class name (the kind its `read_identity` starts with), the attributes whose token depends on nothing but the
view's identity and its file's text (`entry_fields`). Their reads are recorded one by one like any other, with the text's
hash beside them (`Tables.models`), and a replay does not evaluate them while the text is unchanged. So are the reads of
the file's hash itself (`ENTRY`): at 10,000 ideas, fetching the 30,000 comments' hashes took a replay 0.03-0.09 s."""

ROOT = "root:"
MISSING = "missing"
SHORT = 80
"""Text up to this long is its own token; longer text is hashed."""


class UnknownValue(TypeError):
    """A template read a value the fingerprint cannot describe, so the page could not be kept safely."""


def from_entry(func: Any) -> Any:
    """Mark a view's property (the function under it) as a function of the view's content file alone.

    A read of it is then tokenised by the hash of that file's text (`entry.digest`), so replaying it
    computes nothing. Parsing and rendering are deterministic and covered by the code signature.
    """
    func.from_entry = True
    return func


def entry_attributes(cls: type) -> frozenset[str]:
    """The attributes of cls marked with `from_entry` (properties and cached properties alike)."""
    found: dict[str, bool] = {}
    for klass in cls.__mro__:
        for name, attribute in vars(klass).items():
            if name not in found:
                func = getattr(attribute, "fget", None) or getattr(attribute, "func", None)
                found[name] = bool(getattr(func, "from_entry", False))
    return frozenset(name for name, marked in found.items() if marked)


def entry_fields(cls: type) -> frozenset[str]:
    """The names in the `entry_fields` class attributes of cls and its bases (see `ENTRY_FIELDS`)."""
    return frozenset(name for klass in cls.__mro__ for name in vars(klass).get("entry_fields", ()))


def identified(cls: type) -> type:
    """Class decorator: instances are fingerprinted by their `read_identity`, their attributes recorded when read."""
    IDENTIFIED.add(cls)
    return cls


_CONTENT: dict[int, tuple[Any, str]] = {}
"""id → (value, hash of the text it was parsed from), for `content_addressed` values."""


_MODELS: dict[int, tuple[Any, str, bytes]] = {}
"""id → (front matter, identity, its token), for `known_models`."""

_MODELS_BY_IDENTITY: dict[str, Any] = {}
"""identity → front matter, for `known_models` (made in one go: from `_MODELS` it took 0.12 s at 50,000 ideas)."""


def known_models(values: Iterable[tuple[Any, str]]) -> None:
    """Know each content file's front matter by an identity (`model_identity`): its fields read by a template are reads of their own.

    A card that shows an idea's summary then depends on the summary, not on the whole file.
    Replaces the values given by an earlier call, so a long `consult serve` holds only one build's.
    """
    pairs = list(values)
    _MODELS.clear()
    _MODELS.update((id(value), (value, identity, b"@" + identity.encode())) for value, identity in pairs)
    _MODELS_BY_IDENTITY.clear()
    _MODELS_BY_IDENTITY.update(zip(map(operator.itemgetter(1), pairs), map(operator.itemgetter(0), pairs)))


TEXTS: dict[str, str] = {}
"""Identity → hash of the text it was made from, for this build's front matters (`known_texts`) and views (each view adds
its own as it is made, after them): what `Replay` compares with `Tables.models`."""


def known_texts(pairs: Iterable[tuple[str, str]]) -> None:
    """Know the hash of each front matter's text by its identity (`TEXTS`); replaces the last build's, views' included.

    A front matter made from no text (an empty hash) is left out: nothing recorded of it is ever taken as unchanged.
    """
    TEXTS.clear()
    TEXTS.update(pair for pair in pairs if pair[1])


def model_identity(value: Any) -> str | None:
    known = _MODELS.get(id(value))
    return known[1] if known is not None and known[0] is value else None


def model_token(value: Any) -> bytes | None:
    """The token `token` gives a known front matter (`known_models`), or None for any other value."""
    known = _MODELS.get(id(value))
    return known[2] if known is not None and known[0] is value else None


def models_by_identity() -> dict[str, Any]:
    """Every known front matter (`known_models`) by its identity (a new dict: the caller may add to it)."""
    return dict(_MODELS_BY_IDENTITY)


def content_digest(value: Any) -> str | None:
    """The hash of the text a `content_addressed` value was parsed from, or None."""
    parsed = _CONTENT.get(id(value))
    return parsed[1] if parsed is not None and parsed[0] is value else None


def content_addressed(values: Iterable[tuple[Any, str]]) -> None:
    """Fingerprint each value (a content file's front matter) by the hash of the text it comes from, not field by field.

    Parsing is deterministic, so equal text gives equal values (the code signature covers the parser).
    Replaces the values given by an earlier call, so a long `consult serve` holds only one build's.
    """
    _CONTENT.clear()
    _CONTENT.update((id(value), (value, digest)) for value, digest in values if digest)


_READ_IDENTITY = attrgetter("read_identity")
_STR = {str}


def token(value: Any) -> Token:
    """The token of a value read (see the module's docstring): str, int and None as they are, everything else as bytes."""
    kind = type(value)
    if kind is str:
        return value if len(value) <= SHORT else b"s" + hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    if kind is int or value is None:
        return value
    if kind is list or kind is tuple:  # before the other kinds: a replay's runs read tens of thousands of lists of views
        if not value:
            return b"[]" if kind is list else b"()"
        if IDENTIFIED.issuperset(map(type, value)):
            return (b"[@" if kind is list else b"(@") + "\x1f".join(map(_READ_IDENTITY, value)).encode()
        if _STR.issuperset(map(type, value)):  # tags, say: their JSON, which tells the items apart
            data = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
            prefix = b"[s" if kind is list else b"(s"
            return prefix + data if len(data) <= SHORT else prefix + b"#" + hashlib.blake2b(data, digest_size=16).digest()
    elif kind is Markup:
        data = value.encode("utf-8", "surrogatepass")
        return b"m" + data if len(data) <= SHORT else b"M" + hashlib.blake2b(data, digest_size=16).digest()
    elif kind in IDENTIFIED:
        return b"@" + value.read_identity.encode()
    elif kind is bool:
        return b"T" if value else b"F"
    elif kind is dt.date:  # a date (not a datetime, whose zone counts): as ISO text
        return b"D" + value.isoformat().encode()
    if isinstance(value, BaseModel):
        known = model_token(value)
        if known is not None:
            return known
        digest = content_digest(value)
        if digest is not None:
            return b"#" + digest.encode()
    elif is_dataclass(value) and not isinstance(value, type):  # a page of a listing, say: its fields' tokens, hashed together
        return _dataclass_token(value, kind)
    return b"h" + fingerprint(value).encode()


def _dataclass_token(value: Any, kind: type) -> bytes:
    """A dataclass's token: its class name and its fields' tokens, each tagged with its type and its length, hashed.

    Each listing page's own value (`views.PageOf`) is one, checked on every edit: at 10,000 ideas the 6,536 listing
    pages' tokens took 53 ms as the `repr` of a tuple of the field tokens, hashed, and take 38 ms as made here.
    """
    digest = hashlib.blake2b(kind.__qualname__.encode(), digest_size=16)
    for name in _field_names(kind):
        part = token(getattr(value, name))
        if isinstance(part, bytes):
            data = part
        elif isinstance(part, str):
            data = part.encode("utf-8", "surrogatepass")
        else:
            data = repr(part).encode()
        digest.update(_TOKEN_TAGS[type(part)] + len(data).to_bytes(8, "little") + data)
    return b"d" + digest.digest()


_TOKEN_TAGS: dict[type, bytes] = {bytes: b"b", str: b"s", int: b"i", type(None): b"n"}
"""A tag for each type of token (`Token`), so that tokens of different types never give the same bytes."""


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names, in order (`dataclasses.fields` builds its tuple again on every call)."""
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


def fingerprint(value: Any) -> str:
    """A short stable hash of a value, views by identity (see the module's docstring)."""
    kind = type(value)
    if kind is str or kind is Markup:  # one hash, no walk
        return hashlib.blake2b((b"s" if kind is str else b"m") + value.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    digest = hashlib.blake2b(digest_size=8)
    _describe(value, digest)
    return digest.hexdigest()


def _describe(value: Any, digest: Any) -> None:
    kind = type(value)
    if kind in IDENTIFIED:
        digest.update(b"@" + value.read_identity.encode())
    elif value is None or kind is bool or kind is int or kind is float:
        digest.update(repr(value).encode())
    elif kind is str:
        digest.update(b"s" + value.encode("utf-8", "surrogatepass") + b"\x1f")
    elif kind is Markup:
        digest.update(b"m" + value.encode("utf-8", "surrogatepass") + b"\x1f")
    elif kind is list or kind is tuple:
        digest.update(b"[" if kind is list else b"(")
        if IDENTIFIED.issuperset(map(type, value)):  # views (`views.ideas_newest_first`, say): their bytes in one go
            if value:
                digest.update(("@" + ",@".join(map(_READ_IDENTITY, value)) + ",").encode())
        else:
            for item in value:
                _describe(item, digest)
                digest.update(b",")
        digest.update(b"]")
    elif kind is dict:
        digest.update(b"{")
        if all(type(key) is str for key in value) and IDENTIFIED.issuperset(map(type, value.values())):  # views by slug
            # the bytes the loop below gives, in one go (`tests/test_fingerprint_views.py`): at 10,000 ideas an edit's
            # replay read `views.ideas` and `views.tags` in 29-37 ms item by item, in 8-16 ms with these two paths
            digest.update("".join([f"s{key}\x1f:@{item.read_identity}," for key, item in value.items()]).encode("utf-8", "surrogatepass"))
        else:
            for key, item in value.items():  # in order: a template iterating a dict shows it in this order
                _describe(key, digest)
                digest.update(b":")
                _describe(item, digest)
                digest.update(b",")
        digest.update(b"}")
    elif isinstance(value, enum.Enum):
        digest.update(f"{kind.__qualname__}.{value.name}".encode())
    elif isinstance(value, (dt.date, dt.time, dt.timedelta)):
        digest.update(repr(value).encode())  # a datetime's repr includes its zone
    elif isinstance(value, str):
        digest.update(kind.__qualname__.encode() + b":" + value.encode("utf-8", "surrogatepass") + b"\x1f")
    elif isinstance(value, BaseModel):
        text_digest = content_digest(value)
        if text_digest is not None:
            digest.update(b"#" + text_digest.encode())
            return
        digest.update(kind.__qualname__.encode() + b"<")
        _describe(dict(value), digest)
        _describe(value.__pydantic_extra__ or {}, digest)
    elif is_dataclass(value) and not isinstance(value, type):
        digest.update(kind.__qualname__.encode() + b"<")
        _describe({f.name: getattr(value, f.name) for f in fields(value)}, digest)
    elif isinstance(value, (set, frozenset)):
        digest.update(b"set")
        _describe(sorted(value, key=fingerprint), digest)
    elif isinstance(value, Undefined):
        digest.update(b"undefined")
    elif value is missing:
        digest.update(MISSING.encode())
    elif isinstance(value, MethodType) and type(value.__self__) in IDENTIFIED:
        owner: Any = value.__self__
        raise UnknownValue(
            f"a template reads the method {value.__name__} of {owner.read_identity}: what it returns depends on more than the read; make it a property of the view"
        )
    elif isinstance(value, (FunctionType, BuiltinFunctionType, MethodType, Macro, type)):
        digest.update(b"code:" + getattr(value, "__qualname__", getattr(value, "name", "")).encode())  # the code signature covers code
        if isinstance(value, MethodType):
            _describe(value.__self__, digest)
    else:
        raise UnknownValue(
            f"a template reads a {kind.__module__}.{kind.__qualname__}, which generator/reads.py cannot fingerprint; add a case for it to _describe"
        )


def globals_signature(env: Environment, code: str) -> str:
    """The code and theme signature with everything the templates reach without a recorded read: the environment's globals."""
    return f"{code}-{fingerprint(dict(sorted(env.globals.items())))}"


@dataclass
class Reads:
    """What a page or a piece read: its reads by number, the pieces it includes by number, and (a page) the names of its own context."""

    pairs: set[int]
    pieces: set[int]
    roots: dict[str, Token]


ENTRY = "#"
"""The access of a view's `from_entry` attributes, all read as one: the view's content file."""


@dataclass
class Tables:
    """The reads and pieces of a site, numbered: what the manifest keeps besides each page's record.

    Only ever appended to during a build (a read made again in this build takes a new
    number; the pages kept from the last build keep theirs), and compacted now and then.
    """

    pairs: list[str]
    """Identity and access of each read, one after the other (read n at 2n and 2n + 1)."""
    tokens: list[Token]
    piece_pairs: list[tuple[int, ...]]
    piece_pieces: list[tuple[int, ...]]
    models: dict[str, str] = field(default_factory=dict)
    """For each front matter whose fields were read (`model_identity`), and each view whose `entry_fields` were:
    the hash of its file's text when they last were.

    They are a function of that text, so while the hash stays the same a replay need not evaluate them.
    """
    grouped: int = 0
    """How many reads, from the first, are in runs (`runs`): the others were added after the last compaction."""
    runs: list[int] = field(default_factory=list)
    """Where each run of the grouped reads starts: a run is one access of one kind of identity (`run_key`),
    so a replay evaluates it in one go (`Replay`). Made by `grouped_order`, when the tables are compacted."""

    @classmethod
    def empty(cls) -> Tables:
        return cls([], [], [], [])

    @property
    def sizes(self) -> tuple[int, int]:
        return len(self.tokens), len(self.piece_pairs)

    def run_bounds(self) -> Iterator[tuple[int, int]]:
        """(start, stop) of each run of the grouped reads."""
        starts = self.runs
        return zip(starts, [*starts[1:], self.grouped] if starts else [], strict=True)

    def tail(self, base: tuple[int, int]) -> Tables:
        """What was added beyond `base`, the numbers below it left empty (a worker's additions, for `Recorder.merge`)."""
        pairs, pieces = base
        return Tables(
            [""] * (2 * pairs) + self.pairs[2 * pairs :],
            [None] * pairs + self.tokens[pairs:],
            [()] * pieces + self.piece_pairs[pieces:],
            [()] * pieces + self.piece_pieces[pieces:],
            dict(self.models),
        )


def run_key(identity: str, access: str) -> tuple[str, str]:
    """What the reads of one run share: the kind of their identity (`IdeaView`, `idea`, `root`) and their access."""
    end = len(identity)
    for separator in ":/":
        found = identity.find(separator)
        if 0 <= found < end:
            end = found
    return identity[:end], access


def grouped_order(pairs: Sequence[str], numbers: Iterable[int]) -> tuple[list[int], list[int]]:
    """The read numbers given, ordered by run (`run_key`), then identity, then number, and where each run starts in that order.

    Each identity's kind is found once, the numbers put in their run's list in ascending order, and each run sorted on
    its own by identity (a stable sort keeps the numbers' order): a cold build's 414,795 reads at 10,000 ideas took
    0.35 s, where sorting one (kind, access, identity, number) tuple a read took 1.34 s.
    """
    identities, accesses = pairs[0::2], pairs[1::2]
    kinds = {identity: run_key(identity, "")[0] for identity in set(identities)}
    runs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n in sorted(numbers):
        runs[kinds[identities[n]], accesses[n]].append(n)
    order: list[int] = []
    starts: list[int] = []
    for key in sorted(runs):
        starts.append(len(order))
        order.extend(sorted(runs[key], key=identities.__getitem__))
    return order, starts


@dataclass(frozen=True)
class Renumber:
    """Numbers below `base` stay, the others are mapped (a worker's additions merged, or every number when compacting)."""

    base: tuple[int, int]
    pair_map: dict[int, int]
    piece_map: dict[int, int]

    def pairs(self, numbers: Iterable[int]) -> tuple[int, ...]:
        return _renumbered(numbers, self.base[0], self.pair_map)

    def pieces(self, numbers: Iterable[int]) -> tuple[int, ...]:
        return _renumbered(numbers, self.base[1], self.piece_map)


def _renumbered(numbers: Iterable[int], base: int, mapped: dict[int, int]) -> tuple[int, ...]:
    """numbers below base as they are, the others mapped, in order (every one mapped when compacting: base 0)."""
    if not base:
        return tuple(sorted(map(mapped.__getitem__, numbers)))
    return tuple(sorted(n if n < base else mapped[n] for n in numbers))


class Recorder:
    """Numbers the reads and pieces of the pages rendered in this build (see the module's docstring).

    It appends to the last build's tables: a read is tokenised once per build,
    the first time a page reads it, and a piece recorded once per build.
    """

    def __init__(self, shared: Mapping[str, Any], tables: Tables | None = None) -> None:
        self.shared = shared
        self.tables = tables or Tables.empty()
        self.known: dict[Pair, int] = {}
        """Reads tokenised in this build."""
        self.pieces: dict[PieceKey, int] = {}
        """Pieces recorded in this build."""
        self.base = self.tables.sizes
        self.roots: Mapping[str, Any] = {}
        self.stack: list[Reads] = []

    def _pair(self, pair: Pair, value_token: Token) -> int:
        number = self.known[pair] = len(self.tables.tokens)
        self.tables.pairs += pair
        self.tables.tokens.append(value_token)
        return number

    def attribute(self, obj: Any, name: str, value: Any) -> None:
        """Record that a template read the attribute `name` of a view (a `read_identity` object) and found value."""
        stack = self.stack
        if not stack:
            return
        key = (obj.read_identity, name)  # attribute names and item accesses ("[…", ":…") never collide
        number = self.known.get(key)
        if number is None:
            if name in FROM_ENTRY.get(type(obj), ()) and obj.entry.digest:
                number = self.known.get((key[0], ENTRY))
                if number is None:
                    number = self._pair((key[0], ENTRY), obj.entry.digest)
                    self._text_read(key[0], obj.entry.digest)  # the file's hash is the read: a replay skips it as it does an entry field
            else:
                number = self._pair((key[0], sys.intern("." + name)), token(value))
                if name in ENTRY_FIELDS.get(type(obj).__name__, ()):
                    self._text_read(key[0], obj.entry.digest)
            self.known[key] = number
        stack[-1].pairs.add(number)

    def _text_read(self, identity: str, digest: str | None) -> None:
        """Keep the hash of the text a front matter's fields, or a view's `entry_fields`, were just read from (for `Replay`)."""
        if digest:
            self.tables.models[identity] = digest
        else:
            self.tables.models.pop(identity, None)

    def model_attribute(self, model: Any, identity: str, name: str, value: Any) -> None:
        """Record that a template read the field `name` of a known front matter (`model_identity`) and found value."""
        if self.stack:
            key = (identity, name)
            number = self.known.get(key)
            if number is None:
                number = self.known[key] = self._pair((identity, sys.intern("." + name)), token(value))
                self._text_read(identity, content_digest(model))
            self.stack[-1].pairs.add(number)

    def item(self, obj: Any, access: str, value: Any) -> None:
        """Record that a template read `obj[…]` (access as `item_access` gives it) of a view and found value."""
        if self.stack:
            key = (obj.read_identity, access)
            number = self.known.get(key)
            if number is None:
                number = self._pair(key, token(value))
            self.stack[-1].pairs.add(number)

    def root(self, name: str, value: Any) -> None:
        """Record that the page's template read `name` from the page's context (or found it missing)."""
        if not self.stack:
            return
        roots, shared = self.roots, self.shared
        if name in roots:
            seen = self.stack[0].roots
            if value is roots[name] and name not in seen:
                seen[name] = token(value)
            return  # else set by the template itself, from values it read
        if name in shared:
            if value is not shared[name]:
                return  # set by the template itself
        elif value is not missing:
            return  # a global, covered by `globals_signature`
        pair = (ROOT + name, "")
        number = self.known.get(pair)
        if number is None:
            number = self._pair(pair, token(value))
        self.stack[-1].pairs.add(number)

    @contextmanager
    def page(self, roots: Mapping[str, Any]) -> Iterator[Reads]:
        """Record the reads of one page, whose own context values (beyond the shared context) are roots."""
        self.roots, self.stack = roots, [Reads(set(), set(), {})]
        try:
            yield self.stack[0]
        finally:
            self.roots, self.stack = {}, []

    @contextmanager
    def piece(self, key: PieceKey) -> Iterator[None]:
        """Record the reads of a piece reused across pages (a fragment, a memoised macro), and include it in the enclosing page or piece."""
        if not self.stack:
            yield
            return
        reads = Reads(set(), set(), {})
        self.stack.append(reads)
        try:
            yield
        finally:
            self.stack.pop()
        number = self.pieces[key] = len(self.tables.piece_pairs)
        self.tables.piece_pairs.append(tuple(sorted(reads.pairs)))
        self.tables.piece_pieces.append(tuple(sorted(reads.pieces)))
        self.include(number)

    def include(self, number: int) -> None:
        """Count a piece in the page or piece being rendered."""
        if self.stack:
            self.stack[-1].pieces.add(number)

    def piece_keys(self, base: int) -> dict[int, PieceKey]:
        """The keys of the pieces numbered from base on (a worker's, for `merge`)."""
        return {number: key for key, number in self.pieces.items() if number >= base}

    def merge(self, added: Tables, keys: Mapping[int, PieceKey], base: tuple[int, int]) -> Renumber:
        """Merge a worker's additions (its tables forked from these at `base`), each read and piece once; return how to renumber its records."""
        tables = self.tables
        renumber = Renumber(base, {}, {})
        tables.models.update(added.models)
        for number in range(base[0], len(added.tokens)):
            pair = (added.pairs[2 * number], added.pairs[2 * number + 1])
            mine = self.known.get(pair)
            renumber.pair_map[number] = self._pair(pair, added.tokens[number]) if mine is None else mine
        for number in range(base[1], len(added.piece_pairs)):  # a piece includes only pieces made before it: mapped already
            key = keys[number]
            mine = self.pieces.get(key)
            if mine is None:
                mine = self.pieces[key] = len(tables.piece_pairs)
                tables.piece_pairs.append(renumber.pairs(added.piece_pairs[number]))
                tables.piece_pieces.append(renumber.pieces(added.piece_pieces[number]))
            renumber.piece_map[number] = mine
        return renumber


class _Active(threading.local):
    """The recorder of the pages being rendered, per thread (`consult serve` may build in two threads at once)."""

    recorder: Recorder | None = None


ACTIVE = _Active()
"""`ACTIVE.recorder`: the recorder of the pages this thread renders, if any (read by the theme's environment)."""


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    ACTIVE.recorder = recorder
    try:
        yield recorder
    finally:
        ACTIVE.recorder = None


def item_access(key: Any) -> str | None:
    """The access text of `obj[key]`, or None for a key that cannot be replayed (the read then never replays equal)."""
    if type(key) is str or type(key) is int:
        return "[" + json.dumps(key)
    if type(key) is slice and all(v is None or type(v) is int for v in (key.start, key.stop, key.step)):
        return ":" + json.dumps([key.start, key.stop, key.step])
    return None


@dataclass(frozen=True)
class SameTexts:
    """The front matters and views whose file's text is what it was when their recorded fields were read: those in
    `known` (`Tables.models`) and not in `differ`. Held as the few that differ, not as the tens of thousands the
    same: a set of 400,000 identities at 50,000 ideas took 0.1 s to make, on the path of every edit."""

    known: Mapping[str, str]
    differ: AbstractSet[str]
    """Identities whose text is new or another now, or gone (of `TEXTS`, against `known`)."""
    edited: AbstractSet[str] = frozenset()
    """The views whose file's text is new or another now (an edited or added idea's view, say)."""

    def __contains__(self, identity: object) -> bool:
        return identity in self.known and identity not in self.differ

    def flags(self, identities: list[str]) -> list[bool]:
        """Whether each identity's text is the same (`in`), in one go."""
        flags = list(map(self.known.__contains__, identities))
        if not self.differ.isdisjoint(identities):
            for number, identity in enumerate(identities):
                if identity in self.differ:
                    flags[number] = False
        return flags


def same_texts(known: Mapping[str, str], texts: Mapping[str, str] = TEXTS) -> SameTexts:
    """Compare this build's `TEXTS` with the hashes recorded (`Tables.models`), in one go over the tens of thousands:
    an edit's build does it once, for the pages it renders ahead (`pagewriter.edited_pages`) and for the replay."""
    identities = list(texts)
    differ = set(itertools.compress(identities, map(operator.ne, map(known.get, identities), texts.values())))
    edited = frozenset(identity for identity in differ if ":" in identity)
    new = sum(identity not in known for identity in differ)
    if len(known) - len(texts) + new:  # some recorded identities are gone
        differ |= known.keys() - texts.keys()
    return SameTexts(known, differ, edited)


NONE_SAME = SameTexts({}, frozenset())
"""No front matter or view left out (`Replay._check_each`)."""


def _entry_field(identity: str, access: str) -> bool:
    """Whether a read is of a view's file alone: its file's hash (`ENTRY`), or one of its `entry_fields` (`ENTRY_FIELDS`,
    by the kind its identity starts with). A replay does not evaluate it while the file's text is the one recorded."""
    return access == ENTRY or (access[:1] == "." and access[1:] in ENTRY_FIELDS.get(identity.partition(":")[0], ()))


UNREPLAYABLE = "?"
_UNKNOWN = b"\x00unknown"
"""The token of a read that cannot be replayed: equal to no recorded token."""
_ENTRY_DIGEST = attrgetter("entry.digest")


class Replay:
    """Evaluates the last build's reads against this build's views, each once, and finds the pieces that changed.

    `objects` maps identities to this build's objects (every view, and `views`);
    `shared` is the context every page is rendered with; `texts` maps the identities of front matters and views
    to the hash of their file's text now (this build's, `TEXTS`). Every read is evaluated
    up front (nearly all are used by some kept page), so a page's check is two set
    operations on the few reads and pieces that changed.
    """

    def __init__(
        self,
        env: Environment,
        tables: Tables,
        objects: Mapping[str, Any],
        shared: Mapping[str, Any],
        texts: Mapping[str, str] = TEXTS,
        same: SameTexts | None = None,
    ) -> None:
        self.env, self.tables, self.objects, self.shared = env, tables, objects, shared
        self.same = same_texts(tables.models, texts) if same is None else same
        """The front matters and views whose file's text is unchanged: their recorded fields are not evaluated."""
        self._run_identities: list[str] = []
        self._run_objects: list[Any] = []
        self._run_flags: dict[int, list[bool]] = {}
        self.changed_pairs = self._changed_pairs()
        self.changed_pieces = self._changed_pieces()

    def unchanged(self, pairs: Sequence[int], pieces: Sequence[int], roots: Mapping[str, Token], values: Mapping[str, Any]) -> bool:
        """Whether every read of a page gives the same token now; values are the page's own context values."""
        for name, recorded in roots.items():
            if (token(values[name]) if name in values else token(missing)) != recorded:
                return False
        return self.changed_pairs.isdisjoint(pairs) and self.changed_pieces.isdisjoint(pieces)

    def _changed_pairs(self) -> set[int]:
        """The reads whose token is another now. A front matter's fields are not evaluated while its file's text is the
        same, nor a view's `entry_fields` (a view's identity holds a ":", a front matter's does not)."""
        tables, same = self.tables, self.same
        changed: set[int] = set()
        for start, stop in tables.run_bounds():
            identity, access = tables.pairs[2 * start], tables.pairs[2 * start + 1]
            self._check_run(start, stop, same if ":" not in identity or _entry_field(identity, access) else NONE_SAME, changed)
        self._check_each(range(tables.grouped, len(tables.tokens)), same, changed)
        return changed

    def _check_run(self, start: int, stop: int, same: SameTexts, changed: set[int]) -> None:
        """Check one run of reads (one access of one kind of identity) in one go: most runs give the recorded tokens as they are.

        The reads of identities in `same` (whose file's text is unchanged: `SameTexts`) are not evaluated; when some
        are left out, the others are checked one by one.

        Each value is fetched with one `attrgetter` mapped over the run's objects, and the run is unchanged
        when the values equal the recorded tokens with the same types, none of them a hashed token (bytes),
        or when the values' tokens (made in one go, front matters' from `known_models`) equal them.
        Otherwise each read of the run is checked as `_check_each` does.
        """
        tables = self.tables
        identities = tables.pairs[2 * start : 2 * stop : 2]
        access = tables.pairs[2 * start + 1]
        numbers: Sequence[int] = range(start, stop)
        if same.known:
            skipped = self._flags(identities, same)
            if True in skipped:
                self._check_each(list(itertools.compress(numbers, map(operator.not_, skipped))), NONE_SAME, changed)
                return
        if not (access == ENTRY or (access[:1] == "." and "." not in access[1:])):
            self._check_each(numbers, NONE_SAME, changed)
            return
        getter = _ENTRY_DIGEST if access == ENTRY else attrgetter(access[1:])
        try:
            values = list(map(getter, self._objects_of(identities)))
        except AttributeError:  # a view gone, or an attribute Jinja would find otherwise
            self._check_each(numbers, NONE_SAME, changed)
            return
        recorded = tables.tokens[start:stop]
        types = list(map(type, recorded))
        if values == recorded and list(map(type, values)) == types and bytes not in types:
            return
        if isinstance(values[0], BaseModel):
            if list(map(model_token, values)) == recorded:
                return  # front matter read whole (`view.meta`): each the same file's, known by identity
        elif bytes in types and access != ENTRY:  # views, lists of views, dates...: their tokens, made in one go
            try:
                if list(map(token, values)) == recorded:
                    return
            except (AttributeError, UnknownValue):  # read one by one below, as Jinja would
                pass
        for number, value, was in zip(numbers, values, recorded, strict=True):
            kind = type(value)
            if kind is type(was) and kind is not bytes and value == was:
                continue
            if self._token_now(tables.pairs[2 * number], access, value) != was:
                changed.add(number)

    def _same_run(self, identities: list[str]) -> None:
        """Forget what was found for the last run's identities unless these are the same ones: the runs of one kind of
        view (one per access) mostly read the same views, and at 50,000 ideas looking up each of 2 million reads' objects
        again took 0.3 s where comparing the lists takes a hundredth of that (the identities are shared strings)."""
        if identities != self._run_identities:
            self._run_identities, self._run_objects, self._run_flags = identities, [], {}

    def _objects_of(self, identities: list[str]) -> list[Any]:
        """The objects the identities name now (None for one gone), looked up once for consecutive runs of the same identities."""
        self._same_run(identities)
        if not self._run_objects and identities:
            self._run_objects = list(map(self.objects.get, identities))
        return self._run_objects

    def _flags(self, identities: list[str], same: SameTexts) -> list[bool]:
        """`same.flags(identities)`, made once for consecutive runs of the same identities."""
        self._same_run(identities)
        flags = self._run_flags.get(id(same))
        if flags is None:
            flags = self._run_flags[id(same)] = same.flags(identities)
        return flags

    def _token_now(self, identity: str, access: str, value: Any) -> Token:
        """The token a read gives now, from the value found: the attribute's, or (`ENTRY`) the content file's hash."""
        if access == ENTRY:
            return value or _UNKNOWN
        kind = type(value)
        if (kind is str and len(value) <= SHORT) or kind is int or value is None:  # most reads: their own token
            return value
        try:
            return token(value)
        except (AttributeError, UnknownValue):
            return self._evaluate(identity, access)

    def _check_each(self, numbers: Iterable[int], same: SameTexts, changed: set[int]) -> None:
        """Check reads one by one: those added since the last compaction, and runs `_check_run` cannot take whole.

        `same` holds the front matters and the views whose file's text is unchanged (`SameTexts`): the front matters'
        fields and the views' `entry_fields` are not evaluated.
        """
        tables, objects = self.tables, self.objects
        pairs, tokens = tables.pairs, tables.tokens
        for number in numbers:
            identity, access, recorded = pairs[2 * number], pairs[2 * number + 1], tokens[number]
            if identity in same and (":" not in identity or _entry_field(identity, access)):
                continue
            obj = objects.get(identity, missing)
            if access == ENTRY:
                now: Token = _UNKNOWN if obj is missing else self._token_now(identity, access, obj.entry.digest)
            elif obj is not missing and access[:1] == ".":
                try:
                    value = getattr(obj, access[1:])  # what Jinja's getattr finds first
                except AttributeError:
                    now = self._evaluate(identity, access)
                else:
                    now = self._token_now(identity, access, value)
            else:
                now = self._evaluate(identity, access)
            if now != recorded:
                changed.add(number)

    def _changed_pieces(self) -> set[int]:
        """Pieces with a changed read, or including a changed piece (a piece includes only pieces numbered before it)."""
        tables, pairs = self.tables, self.changed_pairs
        changed: set[int] = set()
        for number, (own, included) in enumerate(zip(tables.piece_pairs, tables.piece_pieces, strict=True)):
            if not pairs.isdisjoint(own) or not changed.isdisjoint(included):
                changed.add(number)
        return changed

    def _evaluate(self, identity: str, access: str) -> Token:
        obj = self.objects.get(identity, missing)
        if obj is missing:
            if identity.startswith(ROOT):
                return token(self.shared.get(identity[len(ROOT) :], missing))
            return _UNKNOWN
        if access == UNREPLAYABLE:
            return _UNKNOWN
        try:
            if not access:
                return token(obj)
            if access[0] == ".":
                return token(self.env.getattr(obj, access[1:]))
            if access[0] == "[":
                return token(self.env.getitem(obj, json.loads(access[1:])))
            return token(self.env.getitem(obj, slice(*json.loads(access[1:]))))
        except UnknownValue:
            return _UNKNOWN
