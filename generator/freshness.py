"""Is the last build still current? Lets `consult build` stop at once when nothing changed.

After every successful build a stamp (`.consult-build.json`) is written into
the output folder: a fingerprint of every input the build read (each content
file's path, size and modification time, site.yml, the code, templates and
assets, the options) and the moment the output stops being right by itself
(the next midnight, when a challenge may close, or the end of the next
event, when it moves to past events). A build whose fingerprint matches,
before that moment, would write the same bytes, so it writes nothing.

Like make, this trusts modification times and an output folder that nobody
edits by hand; `consult build --clean` rebuilds everything regardless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .assets import collect
from .atomic import write_atomic
from .clock import LONDON, system_clock
from .counts import counts_signature
from .hashing import package_versions
from .paths import COMPILED_CSS, PLUGINS_DIR, PROJECT_DIR, THEME_DIR

if TYPE_CHECKING:
    from .views import SiteViews

STAMP = ".consult-build.json"
PACKAGES = ("pelican", "jinja2", "nhsuk-frontend-jinja", "markdown-it-py", "nh3", "pagefind")
"""Installed packages whose version can change the output."""


INPUT_FOLDERS = ("challenges", "content")
"""The folders holding the build's content files (every folder of `loader.CONTENT_DIRS` is one of these or inside one)."""

FileStates = dict[str, tuple[int, int]]
"""A content file's path (as os.scandir gives it below `os.path.join(root, folder)`) → (size, modification time in ns)."""


def _file_lines(
    folder: str, relative: str, lines: list[str | int], states: FileStates, parts: list[tuple[str, str]] | None = None, depth: int = 0
) -> None:
    """A line per file below folder (path from the root, size, modification time), in name order, depth first; each file's state into states.

    With `parts`, the subfolders `depth` levels down are not walked: each is left as a part, its index in parts in its place among the lines.
    """
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError:
        return  # missing, or gone while walking: the files it had are no longer inputs
    for entry in entries:
        path = f"{relative}/{entry.name}"
        try:
            if entry.is_dir(follow_symlinks=False):
                if parts is not None and depth == 0:
                    lines.append(len(parts))
                    parts.append((entry.path, path))
                else:
                    _file_lines(entry.path, path, lines, states, parts, depth - 1)
                continue
            stat = entry.stat()
        except OSError:
            continue
        lines.append(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n")
        states[entry.path] = (stat.st_size, stat.st_mtime_ns)


SPLIT_DEPTH = 1
"""How many folder levels below each input folder a `Walk` plans before it leaves the subfolders as parts:
at 10,000 ideas, the challenges' idea folders and each idea's comment folder (about 10,000 parts)."""


@dataclass
class Walk:
    """A fingerprint's walk, planned: the top folders looked at, the subfolders below them left as parts.

    The parts can be walked by one process or shared between two (`generator.startup`); each part's
    lines are hashed on their own, and `Walk.fingerprint` hashes the planned lines with each part's
    digest in its place, so the fingerprint is the same however the parts were shared.
    """

    lines: list[str | int] = field(default_factory=list)
    """Planned lines: a file's line, or the index in `parts` of a folder whose digest goes there."""
    parts: list[tuple[str, str]] = field(default_factory=list)
    """Folders left to walk whole: (path as os.scandir gives it, path from the root)."""

    def fingerprint(self, digests: Sequence[str]) -> str:
        """The fingerprint, given the parts' digests (`part_digests`) in the order of `parts`."""
        text = "".join(line if isinstance(line, str) else digests[line] for line in self.lines)
        return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def plan_walk(root: Path, base_url: str | None, code: str, asset_files: dict[str, str], states: FileStates | None = None) -> Walk:
    """The walk for `fingerprint`, planned (the files it saw on the way into `states`)."""
    states = {} if states is None else states
    walk = Walk([f"{code}\0{base_url or ''}\0{package_versions(PACKAGES)}\0{sorted(asset_files.items())}\n"])
    config = root / "site.yml"
    if config.is_file():
        stat = config.stat()
        walk.lines.append(f"site.yml\0{stat.st_size}\0{stat.st_mtime_ns}\n")
    for folder in INPUT_FOLDERS:
        _file_lines(os.path.join(root, folder), folder, walk.lines, states, walk.parts, SPLIT_DEPTH)
    return walk


def part_digests(parts: Sequence[tuple[str, str]], states: FileStates) -> list[str]:
    """Each part's digest: its files' lines (path, size, modification time), hashed, or "" when it has no file
    (an empty folder is no input, as in a walk not shared); the files' states into `states`."""
    digests = []
    for folder, relative in parts:
        lines: list[str | int] = []
        _file_lines(folder, relative, lines, states)  # no parts: every line is a file's
        digests.append(hashlib.blake2b("".join(map(str, lines)).encode("utf-8", "surrogateescape"), digest_size=16).hexdigest() if lines else "")
    return digests


def fingerprint(root: Path, base_url: str | None, code: str, asset_files: dict[str, str], states: FileStates | None = None) -> str:
    """A hash of every input of a build, from file metadata (no file is read; each is looked at once, with os.scandir).

    `states`, when given, receives each content file's size and modification time, so loading the
    content need not look at the files' metadata again.
    """
    states = {} if states is None else states
    walk = plan_walk(root, base_url, code, asset_files, states)
    return walk.fingerprint(part_digests(walk.parts, states))


def valid_until(views: SiteViews, now: dt.datetime) -> dt.datetime:
    """The first moment after `now` at which the same inputs would give a different site."""
    london = now.astimezone(LONDON)
    next_london_midnight = dt.datetime.combine(london.date() + dt.timedelta(days=1), dt.time(), LONDON)
    utc = now.astimezone(dt.UTC)
    next_utc_midnight = dt.datetime.combine(utc.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    moments = [next_london_midnight, next_utc_midnight]
    moments += [event.end for event in views.events.values() if event.end >= now]
    return min(moments)


def write_stamp(output: Path, print_: str, until: dt.datetime) -> None:
    data = json.dumps({"fingerprint": print_, "valid_until": until.astimezone(dt.UTC).isoformat()})
    write_atomic(output / STAMP, data)


def clear_stamp(output: Path) -> None:
    """Before changing the output in place: an interrupted build must not look current."""
    (output / STAMP).unlink(missing_ok=True)


def is_current(output: Path, print_: str, now: dt.datetime) -> bool:
    """Whether output was built from exactly these inputs and is still right at `now`."""
    try:
        stamp = json.loads((output / STAMP).read_text(encoding="utf-8"))
        until = dt.datetime.fromisoformat(stamp["valid_until"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return stamp.get("fingerprint") == print_ and now < until and (output / "index.html").is_file()


def code_signature() -> str:
    """Hash of the code and theme a page is made with: a change here re-renders every page."""
    import nhsuk_frontend_jinja

    digest = hashlib.blake2b(digest_size=16)
    folders = [(PROJECT_DIR / "generator", "*.py"), (PLUGINS_DIR, "**/*.py"), (THEME_DIR / "templates", "**/*.html")]
    files = [p for folder, pattern in folders for p in sorted(folder.glob(pattern))] + [COMPILED_CSS]
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(PROJECT_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    digest.update(Path(nhsuk_frontend_jinja.__file__).parent.as_posix().encode())
    return digest.hexdigest()


def input_fingerprint(root: Path, base_url: str | None = None, supports: dict[str, int] | None = None, states: FileStates | None = None) -> str:
    """The fingerprint of everything a build of root reads: take it once, before the build reads anything (`states` as for `fingerprint`)."""
    return fingerprint(root, base_url, code_signature() + counts_signature(supports), collect().files, states)


def input_walk(root: Path, base_url: str | None = None, supports: dict[str, int] | None = None, states: FileStates | None = None) -> Walk:
    """`input_fingerprint`'s walk, planned: its parts to be walked by one process or shared (`generator.startup`)."""
    return plan_walk(root, base_url, code_signature() + counts_signature(supports), collect().files, states)


def up_to_date(
    root: Path,
    output: Path,
    base_url: str | None = None,
    now: dt.datetime | None = None,
    supports: dict[str, int] | None = None,
    inputs: str | None = None,
) -> bool:
    """Whether the site in output was built from the inputs as they are now (support counts included) and is still right.

    `inputs`: the `input_fingerprint` already taken for this build.
    """
    inputs = inputs or input_fingerprint(root, base_url, supports)
    return is_current(output.resolve(), inputs, now or system_clock().now())


def cache_file(root: Path) -> Path:
    """Where `consult build` keeps parsed content between runs (git-ignored)."""
    return root / ".consult" / "cache" / "content.sqlite"
