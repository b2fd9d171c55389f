"""Support counts ("me too") for the build: the intake's counts.json, read from a file or an http(s) URL.

The document is `{"generated_at": "<ISO 8601 UTC>", "ideas": {"<slug>": <int>, ...}}`
(see the intake's `GET /counts.json`). A count given for a duplicate is added
to its original's; a slug the site does not have is ignored. Anything wrong
with the source stops the build with a message naming it and the fix.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path

from .errors import BuildError
from .hashing import signature

TIMEOUT_SECONDS = 15.0
"""How long the build waits for a counts URL to answer."""
LARGEST_DOCUMENT = 64 * 1024 * 1024
"""A counts document larger than this is refused (a wrong URL, not counts)."""
SHAPE = '{"generated_at": "2026-11-25T12:00:00Z", "ideas": {"<idea slug>": <whole number>, ...}}'


class CountsError(BuildError):
    """The counts given to `consult build --counts` could not be read."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_source(source: str, root: Path, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """The bytes of a counts file (relative to root) or URL."""
    if is_url(source):
        return _fetch(source, timeout)
    path = Path(source) if Path(source).is_absolute() else root / source
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CountsError(
            f"--counts {source}: no such file (hint: give the path of a counts.json saved from the intake, or its https:// address)"
        ) from None
    except OSError as exc:
        raise CountsError(f"--counts {source}: the file could not be read ({exc.strerror})") from None


def _fetch(url: str, timeout: float) -> bytes:
    import urllib.error  # only for --counts <url>: the "nothing changed?" check stays light
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "consult-build"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read(LARGEST_DOCUMENT + 1)
    except urllib.error.HTTPError as exc:
        raise CountsError(
            f"--counts {url}: the server answered {exc.code} {exc.reason} (hint: check the address; the intake serves counts at <intake url>/counts.json)"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CountsError(
            f"--counts {url}: could not reach it ({reason}) (hint: check the address and that the intake is running, or build without --counts)"
        ) from None
    if len(data) > LARGEST_DOCUMENT:
        raise CountsError(f"--counts {url}: the answer is larger than {LARGEST_DOCUMENT // (1024 * 1024)} MiB, which is not a counts document")
    return data


def parse_counts(data: bytes, source: str) -> dict[str, int]:
    """The counts per idea slug from a counts document; a CountsError says what is wrong with it."""

    def wrong(what: str) -> CountsError:
        return CountsError(f"--counts {source}: {what} (hint: expected the intake's counts.json, shaped like {SHAPE})")

    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise wrong(f"not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise wrong(f"the document is a {type(document).__name__}, not an object")
    generated = document.get("generated_at")
    if not isinstance(generated, str) or not _is_timestamp(generated):
        raise wrong(f"generated_at is {generated!r}, not an ISO 8601 time")
    ideas = document.get("ideas")
    if not isinstance(ideas, dict):
        raise wrong('it has no "ideas" object')
    counts: dict[str, int] = {}
    for slug, count in ideas.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise wrong(f"the count of '{slug}' is {count!r}, not a whole number of 0 or more")
        counts[slug] = count
    return counts


def _is_timestamp(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def load_counts(source: str, root: Path, timeout: float = TIMEOUT_SECONDS) -> dict[str, int]:
    """Read and check the counts document at source (a file path or an http(s) URL)."""
    return parse_counts(read_source(source, root, timeout), source)


def fold(counts: Mapping[str, int], originals: Mapping[str, str]) -> dict[str, int]:
    """Each idea's count with its duplicates' counts added; slugs not in `originals` are dropped.

    `originals` maps every idea's slug to the slug it counts towards (itself, or the idea it duplicates).
    """
    folded: dict[str, int] = {}
    for slug, count in counts.items():
        target = originals.get(slug)
        if target is not None:
            folded[target] = folded.get(target, 0) + count
    return folded


def counts_signature(counts: Mapping[str, int] | None) -> str:
    """What a build's counts contribute to its fingerprint ('' when the build was given none)."""
    return "" if counts is None else signature(sorted(counts.items()))


def support_sentence(count: int) -> str:
    """The idea page's line: '3 people support this idea'."""
    if count == 0:
        return "No one has supported this idea yet"
    return "1 person supports this idea" if count == 1 else f"{count} people support this idea"
