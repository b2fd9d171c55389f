"""Run Pagefind (the binary shipped in the `pagefind-bin` wheel) over a built site."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
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


def _run(command: list[str], timeout: float) -> tuple[int, str, float]:
    """Run command; return its exit code, its output and its own peak memory in MiB (from wait4)."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        log.seek(0)
        return proc.returncode, log.read().decode("utf-8", "replace"), usage.ru_maxrss / 1024


def index_site(site: Path) -> tuple[Path, float]:
    """Index every page that has `data-pagefind-body`, in a stable form; return the bundle folder and Pagefind's peak memory (MiB)."""
    bundle = site / BUNDLE
    shutil.rmtree(bundle, ignore_errors=True)
    command = [str(executable()), "--site", str(site), "--output-subdir", BUNDLE, "--silent"]
    code, output, peak_mib = _run(command, timeout=600)
    if code != 0 or not (bundle / "pagefind.js").exists():
        detail = output.strip() or f"exit code {code}"
        raise BuildError(f"Pagefind could not index {site}: {detail}")
    for name in UNUSED:
        (bundle / name).unlink(missing_ok=True)
    stabilise(bundle)
    return bundle, peak_mib
