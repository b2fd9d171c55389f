"""Where the content files are, and the list of them in the order they load.

Nothing here parses a file (no schema, no pydantic), so the forked process
that takes `consult build`'s fingerprint lists the files too, beside the
loading of the content cache (`generator.startup`), and the load stage does
not walk the folders again.
"""

from __future__ import annotations

import os
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
