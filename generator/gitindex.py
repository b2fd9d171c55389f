"""What git already knows of a checkout's files: each unmodified file's blob id, without reading the file.

A fresh checkout (the publishing workflow's, every run) gives every file a new
modification time, so the content cache cannot trust its recorded sizes and
times. Rather than read and hash every file again, it asks git: `git ls-files
--stage` lists the blob id of every file in the index, and `git diff-files`
names the files whose working copy differs from the index (git compares its
own recorded file metadata, and reads a file's bytes when that metadata cannot
tell). A file git does not name has the bytes of its blob, so a cached record
made from bytes with that blob id holds. Files git was told to assume
unchanged, or to skip, are not trusted (`ls-files -v` tags them).

Anything unusual (no git, not a work tree, a file in a merge conflict) only
means files are read and hashed as before.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from pathlib import Path

GIT = ("git", "-c", "core.fsmonitor=false", "-c", "core.quotePath=false")
"""git with no file-system monitor hook run on the build's behalf."""

TIMEOUT = 60.0


def blob_id(data: bytes) -> bytes:
    """The id git gives a file with these bytes (SHA-1 of its blob object), as bytes."""
    digest = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.digest()


def _git(root: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run([*GIT, "-C", str(root), *args], capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def unmodified_blobs(root: Path, folders: Sequence[str]) -> dict[str, bytes]:
    """Path (relative to root, with /) → blob id, for every file under folders whose working copy git finds unmodified.

    Empty when root is not in a git work tree or git cannot answer.
    """
    listed = _git(root, "ls-files", "--stage", "-v", "-z", "--", *folders)
    if not listed:
        return {}
    modified = _git(root, "diff-files", "--name-only", "--relative", "-z", "--", *folders)
    if modified is None:
        return {}
    changed = set(modified.split(b"\0"))
    blobs: dict[str, bytes] = {}
    for line in listed.split(b"\0"):
        if not line:
            continue
        info, _, name = line.partition(b"\t")
        tag, mode, blob, stage = info.split(b" ")
        if tag != b"H" or mode not in (b"100644", b"100755") or stage != b"0" or name in changed or len(blob) != 40:
            continue  # marked unchanged or skipped by hand, a link, a submodule, a conflict, a changed file, a SHA-256 repository: read as before
        try:
            blobs[name.decode("utf-8")] = bytes.fromhex(blob.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            continue
    return blobs
