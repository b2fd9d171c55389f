"""What `consult build` knows before its pipeline runs: the inputs' fingerprint and, when there is something to build, the content cache.

The fingerprint looks at every content file's size and modification time
(0.3 s at 10,000 ideas) and the cache unpickles every parsed file (0.5 s):
neither needs the other until the end, so the fingerprint is taken in a
forked process while this one loads the cache, a chunk of records at a time.
The fingerprint comes back first, on its own, so when nothing changed the
build stops at once, the loading abandoned; then the files' states, for the
cache to tell which files it knows (`CacheLoading.see`), and the list of content files the
load stage reads (`generator.contentfiles`: it need not walk the folders again). Where forking is not
possible, the fingerprint is taken first, and the cache loaded only when
something changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from .contentcache import CacheLoading, Checkout, ContentCache
from .contentfiles import CONTENT_FOLDERS, ContentFiles, content_files
from .freshness import FileStates, cache_file, input_fingerprint
from .parallel import sending


@dataclass
class Start:
    inputs: str
    """The `input_fingerprint`."""
    states: FileStates
    """What it saw of the content files (empty when the build is not wanted)."""
    cache: ContentCache | None
    """The content cache, loaded; None when the build is not wanted."""
    files: ContentFiles | None = None
    """The content files, listed by the forked process after the fingerprint (None: the load stage lists them)."""


def start(root: Path, base_url: str | None, supports: dict[str, int] | None, wanted: Callable[[str], bool]) -> Start:
    """Take the fingerprint of root's inputs and, when `wanted(fingerprint)`, load the content cache beside it."""
    loading = CacheLoading(cache_file(root))

    def fingerprint_there() -> Iterator[object]:
        states: FileStates = {}
        yield input_fingerprint(root, base_url, supports, states)
        yield states, content_files(root)

    child = sending(fingerprint_there)
    files: ContentFiles | None = None
    if child is None:
        states: FileStates = {}
        inputs = input_fingerprint(root, base_url, supports, states)
        if not wanted(inputs):
            return Start(inputs, {}, None)
    else:
        try:
            while not child.ready() and loading.step():
                pass
            inputs = cast(str, child.next())
            if not wanted(inputs):
                loading.abandon()
                return Start(inputs, {}, None)
            states, files = cast(tuple[FileStates, ContentFiles], child.next())
        finally:
            child.close()
    loading.see(Checkout(root, CONTENT_FOLDERS, states))
    return Start(inputs, states, loading.finish(), files)
