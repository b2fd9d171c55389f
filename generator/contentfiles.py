"""Where the content files are, and the list of them in the order they load.

Nothing here parses a file (no schema, no pydantic), so the forked process
that takes `consult build`'s fingerprint lists the files too, beside the
loading of the content cache (`generator.startup`), and the load stage does
not walk the folders again. That process lists them from the paths its walk
saw (`seen_files`), without looking at the folders a second time: at 50,000
ideas (200,000 files) listing them again took it 0.4 s, on the path of every
edit's build.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

CONTENT_LAYOUT: dict[str, tuple[str, int]] = {
    # kind: (folder, depth of files below the folder)
    "challenge": ("challenges", 0),
    "idea": ("content/ideas", 1),
    "event": ("content/events", 0),
    "page": ("content/pages", 0),
    "topic": ("content/topics", 1),
    "comment": ("content/comments", 1),
    "update": ("content/updates", 0),
}

CONTENT_FOLDERS = tuple(folder for folder, _depth in CONTENT_LAYOUT.values())

ContentFiles = dict[str, list[str]]
"""Each kind's Markdown files (paths below `os.path.join(root, folder)`), as `content_files` lists them."""


def folder_files(folder: str, depth: int) -> list[str]:
    """The Markdown files in folder (depth 1: in its subfolders), ordered as sorted Paths are (folder by folder)."""
    try:
        items = sorted(os.scandir(folder), key=lambda item: item.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    if depth:
        return [path for item in items if item.is_dir() for path in folder_files(item.path, depth - 1)]
    return [item.path for item in items if item.name.endswith(".md") and item.is_file()]


def content_files(root: Path) -> ContentFiles:
    """Every kind's Markdown files, in the order the load stage reads them."""
    return {kind: folder_files(os.path.join(root, folder), depth) for kind, (folder, depth) in CONTENT_LAYOUT.items()}


def seen_files(root: Path | str, seen: Iterable[str]) -> ContentFiles | None:
    """The content files among the paths a fingerprint's walk saw (`freshness.FileStates` keys, in the walk's order:
    each folder's entries by name, depth first), listed as `content_files` lists them, with no folder looked at again.

    None when the walk saw a file or a link where a kind keeps its subfolders (in `content/ideas/`, say): the walk
    does not look inside a linked folder, and `content_files` does, so it is asked instead. (A link to a folder named
    like a Markdown file, where a kind keeps its files, is the one thing listed here and not there.)
    """
    sep = os.sep
    # each kind's folder (with a separator after it), and how many separators a path to one of its files holds
    folders = [
        (pre := os.path.join(root, folder.replace("/", sep), ""), kind, pre.count(sep) + depth) for kind, (folder, depth) in CONTENT_LAYOUT.items()
    ]
    files: ContentFiles = {kind: [] for kind in CONTENT_LAYOUT}
    here = folders[0]
    for path in seen:
        if not path.startswith(here[0]):  # the walk sees a folder's files together: the kind changes seldom
            found = next((folder for folder in folders if path.startswith(folder[0])), None)
            if found is None:
                continue
            here = found
        seps = path.count(sep)
        if seps == here[2]:
            if path.endswith(".md"):
                files[here[1]].append(path)
        elif seps < here[2]:
            return None
    return files
