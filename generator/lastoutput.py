"""What the last build left in the output folder: its list of files (`FILES`), and which of its pages are gone since.

A page removed from the output by hand is written again by the next build, whatever its reads give
(`pagewriter.missing_pages`). Finding it takes a system call a page: 0.05 s for the 16,554 pages of
10,000 ideas alone, but 0.1-0.2 s in the build, on the main thread of every edit, while the forked
process beside it wrote the open data. `consult build` looks instead in the process that takes the
inputs' fingerprint (`generator.startup`), which waits for nothing while this one loads the content
cache; the build is given what it found (`build(last_output=...)`). This module imports nothing that
parses or renders, so that process starts quickly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FILES = ".consult-files"
"""Every file the build left in the output folder (outside folders kept whole), one a line, and each folder an extra
stage kept whole (ending in /): what the next incremental build may sweep."""

PAGE_SUFFIX = ".html"
"""Every page is written to an HTML file (`pagewriter.page_file`): the listed files looked for."""


def read_files(output: Path) -> set[str] | None:
    """The files the last build left in output (`FILES`), or None when it did not record them."""
    try:
        return set((output / FILES).read_text(encoding="utf-8").splitlines())
    except OSError:
        return None


@dataclass(frozen=True)
class LastOutput:
    """The output folder as the last build left it, looked at before this build started."""

    files: set[str]
    """The files the last build recorded (`FILES`), relative to the output folder."""
    gone: set[str]
    """Those of them that are pages (`PAGE_SUFFIX`) and were not in the output folder when it was looked at."""

    def is_gone(self, file: str) -> bool | None:
        """Whether a page's file was gone; None when it was not looked for (the last build did not list it)."""
        if file.endswith(PAGE_SUFFIX) and file in self.files:
            return file in self.gone
        return None


def look_at(output: Path) -> LastOutput | None:
    """The files the last build listed in output, and its pages gone from there now; None when it listed none."""
    files = read_files(output)
    if files is None:
        return None
    base, exists = f"{os.fspath(output)}{os.sep}", os.path.exists  # str paths: Paths cost more than the lookups
    return LastOutput(files, {rel for rel in files if rel.endswith(PAGE_SUFFIX) and not exists(base + rel)})
