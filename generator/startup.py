"""What `consult build` knows before its pipeline runs: the inputs' fingerprint and, when there is something to build, the content cache.

The fingerprint looks at every content file's size and modification time
(0.3 s at 10,000 ideas in one process) and the cache unpickles every parsed
file (0.3 s, in packs): neither needs the other until the end. So the walk is planned
(`freshness.input_walk`) and its parts shared: a forked process walks half of
them while this one walks the other half, then loads the cache a pack of
records at a time until the forked half comes back. When nothing changed the
build stops there, with the loading abandoned, in about half the walk's time.
Otherwise the loading goes on while the forked process lists the content
files (0.1-0.15 s at 10,000 ideas, which this process spent waiting before),
then sends the files' states, for the cache to tell
which files it knows (`CacheLoading.see`; this process's half is shown to it
first, once the cache is open or the build is known to be wanted, so after a
fresh checkout git's index is asked 0.2-0.4 s sooner, while the packs load; a
build with nothing to do opens no cache for it), and the list of content files the
load stage reads (`generator.contentfiles`: it need not walk the folders
again). Where forking is not possible, the whole walk is taken here first, and
the cache loaded only when something changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from .contentcache import CacheLoading, Checkout, ContentCache
from .contentfiles import CONTENT_FOLDERS, ContentFiles, content_files
from .freshness import FileStates, cache_file, input_walk, part_digests
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
    states: FileStates = {}
    walk = input_walk(root, base_url, supports, states)
    theirs = walk.parts[1::2]

    def walked_there() -> Iterator[object]:
        there: FileStates = {}
        yield part_digests(theirs, there)
        yield there, content_files(root)

    child = sending(walked_there) if theirs else None
    files: ContentFiles | None = None
    if child is None:
        inputs = walk.fingerprint(part_digests(walk.parts, states))
        if not wanted(inputs):
            return Start(inputs, {}, None)
    else:
        try:
            digests: list[str] = [""] * len(walk.parts)
            digests[0::2] = part_digests(walk.parts[0::2], states)
            half = Checkout(root, CONTENT_FOLDERS, states)
            shown = False
            while not child.ready() and loading.step():
                if not shown:  # the cache is open: this half tells a fresh checkout already, so git is asked while the packs load
                    loading.see(half)
                    shown = True
            digests[1::2] = cast(list[str], child.next())
            inputs = walk.fingerprint(digests)
            if not wanted(inputs):
                loading.abandon()
                return Start(inputs, {}, None)
            if not shown:  # the build is wanted: the cache may be opened now (it is not, when nothing changed)
                loading.see(half)
            while not child.ready() and loading.step():  # the forked process lists the content files after its half of the walk
                pass
            there, files = cast(tuple[FileStates, ContentFiles], child.next())
            states.update(there)
        finally:
            child.close()
    loading.see(Checkout(root, CONTENT_FOLDERS, states))
    return Start(inputs, states, loading.finish(), files)
