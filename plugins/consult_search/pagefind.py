"""Run Pagefind (the binary shipped in the `pagefind-bin` wheel) over a built site."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from generator.errors import BuildError

from .stable import stabilise

BUNDLE = "pagefind"
"""Folder of the index inside the site: `/pagefind/pagefind.js`."""

UNUSED = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css", "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")
"""Pagefind's ready-made interfaces, which the site does not use (it has its own small one)."""


def executable() -> Path:
    """The Pagefind binary from the installed wheel."""
    try:
        from pagefind_bin import get_executable
    except ImportError as exc:  # pragma: no cover - a broken install
        raise BuildError("Pagefind is not installed: run `make setup` (it installs pagefind[bin] from PyPI)") from exc
    return get_executable()


def index_site(site: Path) -> Path:
    """Index every page that has `data-pagefind-body`, in a stable form; return the bundle folder."""
    bundle = site / BUNDLE
    shutil.rmtree(bundle, ignore_errors=True)
    command = [str(executable()), "--site", str(site), "--output-subdir", BUNDLE, "--silent"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0 or not (bundle / "pagefind.js").exists():
        detail = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
        raise BuildError(f"Pagefind could not index {site}: {detail}")
    for name in UNUSED:
        (bundle / name).unlink(missing_ok=True)
    stabilise(bundle)
    return bundle
