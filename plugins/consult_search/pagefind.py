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


def part_folder(number: int) -> str:
    """Where the index of part `number` (1, 2, …) of a large site goes, inside the main bundle."""
    return f"{BUNDLE}/part-{number}"


def _link_tree(site: Path, farm: Path, files: list[str]) -> None:
    """A folder holding `files` (paths relative to site) at the same paths, hard-linked (copied across devices)."""
    for rel in files:
        target = farm / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(site / rel, target)
        except OSError:
            shutil.copyfile(site / rel, target)


def _index(site: Path, bundle: Path, timeout: float) -> float:
    """Run Pagefind over site into bundle, tidied and stable; return its peak memory in MiB."""
    command = [str(executable()), "--site", str(site), "--output-path", str(bundle), "--silent"]
    code, output, peak_mib = _run(command, timeout=timeout)
    if code != 0 or not (bundle / "pagefind.js").exists():
        detail = output.strip() or f"exit code {code}"
        raise BuildError(f"Pagefind could not index {site}: {detail}")
    for name in UNUSED:
        (bundle / name).unlink(missing_ok=True)
    stabilise(bundle)
    return peak_mib


def index_site(site: Path, parts: list[list[str]] | None = None) -> tuple[Path, float]:
    """Index every page that has `data-pagefind-body`, in a stable form; return the bundle folder and Pagefind's peak memory (MiB).

    Pagefind holds a whole index in memory while it builds it (about 1 GiB for
    10,000 ideas). `parts` (lists of page files, relative to site) are each
    indexed on their own into `part_folder(n)`, and everything else into the
    main bundle; the search page merges them (Pagefind's `mergeIndex`).
    """
    bundle = site / BUNDLE
    shutil.rmtree(bundle, ignore_errors=True)
    parts = [part for part in parts or [] if part]
    if not parts:
        return bundle, _index(site, bundle, timeout=600)
    apart = {rel for part in parts for rel in part}
    main = sorted(rel for path in site.rglob("*.html") if (rel := path.relative_to(site).as_posix()) not in apart)
    peak = 0.0
    for number, files in enumerate([main, *parts]):
        with tempfile.TemporaryDirectory(prefix=".pagefind-part-", dir=site.parent) as farm:
            _link_tree(site, Path(farm), files)
            peak = max(peak, _index(Path(farm), site / part_folder(number) if number else bundle, timeout=600))
    return bundle, peak
