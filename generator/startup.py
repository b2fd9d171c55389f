"""What `consult build` knows before its pipeline runs: the inputs' fingerprint and, when there is something to build, the content cache.

The fingerprint looks at every content file's size and modification time
(0.17 s at 10,000 ideas in one process) and the cache unpickles every parsed
file (0.28 s, in packs): neither needs the other until the end. So the walk is
planned (`freshness.input_walk`) and its parts walked by a forked process while
this one loads the cache a pack of records at a time. The forked process sends
the states of its first few files at once (`EARLY_FILES`: the cache is shown
them, so after a fresh checkout git's index is asked while the packs load), then
the parts' digests: when nothing changed the build stops there, with the
loading abandoned. Otherwise the loading goes on while the forked process sends
the files' states, for the cache to tell which files it knows
(`CacheLoading.see`; a build with nothing to do opens no cache for it), the
list of content files the load stage reads (`generator.contentfiles`: taken
from the paths its walk saw, so neither process walks the folders again), and
what the last build left in the output folder (`generator.lastoutput`: its list
of files, and which of its pages are gone, so the build does not look for each
page again). Where forking is not possible,
the whole walk is taken here first, the cache loaded only when something
changed, and the build looks at the output itself.

This process walks no part itself: an edit's build waits for the packs, not for
the walk, so each part walked here was time added to every edit (0.1 s at 10,000
ideas, as against 0.05 s more for "nothing changed", which waits for the walk).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import cast

from . import contentcache
from .contentcache import CacheLoading, Checkout, ContentCache
from .contentfiles import CONTENT_FOLDERS, ContentFiles, content_files, seen_files
from .freshness import FileStates, cache_file, input_walk, part_digests
from .lastoutput import LastOutput, look_at
from .parallel import Sent, sending

EARLY_FILES = 4
"""The forked process sends the states of its first EARLY_FILES × `contentcache.GIT_AFTER` files (or a few more: whole
parts) at once, so that after a fresh checkout the cache asks git's index while the packs load. A small message: a
larger one than the pipe holds (64 KiB) keeps the forked process waiting until this one, busy loading, reads it."""


def _load_until_ready(loading: CacheLoading, child: Sent[object]) -> bool:
    """Load packs of the cache until the forked process's next result is there (or every pack is loaded); whether any was."""
    loaded = False
    while not child.ready() and loading.step():
        loaded = True
    return loaded


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
    last_output: LastOutput | None = None
    """What the last build left in the output folder, looked at by the forked process (None: the build looks)."""
    abandoned: CacheLoading | None = None
    """When the build is not wanted: what was loaded of the cache before that was known (its first packs), handed to
    the caller to free or not: `consult build` ends the process without freeing it (0.17 s at 50,000 ideas)."""


def start(
    root: Path,
    base_url: str | None,
    supports: dict[str, int] | None,
    wanted: Callable[[str], bool],
    output: Path | None = None,
    idle: Callable[[], object] | None = None,
) -> Start:
    """Take the fingerprint of root's inputs and, when `wanted(fingerprint)`, load the content cache beside it
    (and look at what the last build left in `output`, when given).

    `idle`: work the build will do next in any case (importing the pipeline, say), done when it is wanted, every pack
    is loaded and the forked process is still at work: after an edit at 10,000 ideas this process waited 0.05-0.1 s
    for it there. Never before the build is known to be wanted, which "nothing changed" would wait for.
    """
    loading = CacheLoading(cache_file(root))
    states: FileStates = {}
    walk = input_walk(root, base_url, supports, states)

    def walked_there() -> Iterator[object]:
        parts = iter(walk.parts)
        seen_early: FileStates = {}
        early: list[str] = []
        for part in parts:  # a few files first, enough for the cache to tell a fresh checkout
            early += part_digests([part], seen_early)
            if len(seen_early) >= EARLY_FILES * contentcache.GIT_AFTER:
                break
        yield early, seen_early
        seen_rest: FileStates = {}
        yield part_digests(list(parts), seen_rest)  # the parts after the early ones
        listed = seen_files(root, chain(states, seen_early, seen_rest))  # the plan's files, then the parts' in their order
        yield seen_rest, content_files(root) if listed is None else listed, look_at(output) if output is not None else None

    child = sending(walked_there) if walk.parts else None
    files: ContentFiles | None = None
    last_output: LastOutput | None = None
    if child is None:
        inputs = walk.fingerprint(part_digests(walk.parts, states))
        if not wanted(inputs):
            return Start(inputs, {}, None)
    else:
        try:
            loaded = _load_until_ready(loading, child)
            digests, seen_early = cast(tuple[list[str], FileStates], child.next())
            states.update(seen_early)
            if loaded:  # the cache is open: these files tell a fresh checkout already, so git is asked while the packs load
                loading.see(Checkout(root, CONTENT_FOLDERS, states))
            _load_until_ready(loading, child)
            digests += cast(list[str], child.next())
            inputs = walk.fingerprint(digests)
            if not wanted(inputs):
                loading.abandon()
                return Start(inputs, {}, None, abandoned=loading)
            if not loaded:  # the first files came before any pack: shown now the build is wanted (nothing to do opens no cache)
                loading.see(Checkout(root, CONTENT_FOLDERS, states))
            _load_until_ready(loading, child)  # the forked process sends the states it saw, lists the content files, looks at the output
            if idle is not None and not child.ready():  # every pack loaded: the wait is idle's
                idle()
            seen_rest, files, last_output = cast(tuple[FileStates, ContentFiles, LastOutput | None], child.next())
            states.update(seen_rest)
        finally:
            child.close()
    loading.see(Checkout(root, CONTENT_FOLDERS, states))
    return Start(inputs, states, loading.finish(), files, last_output)
