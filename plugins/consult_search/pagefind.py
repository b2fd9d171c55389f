"""Run Pagefind (the binary shipped in the `pagefind-bin` wheel) over a built site."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
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


def _peak_mib(pid: int) -> float:
    """The process's own peak resident memory so far (VmHWM), 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _run(command: list[str], timeout: float) -> tuple[int, str, float]:
    """Run command; return its exit code, its output and its peak memory in MiB.

    The peak is sampled from /proc every 20 ms: the rusage of a child counts
    the memory of this process at the moment it forked, which would hide
    Pagefind's own figure behind the build's.
    """
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _peak_mib(proc.pid))
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                break
            time.sleep(0.02)
        log.seek(0)
        return proc.returncode, log.read().decode("utf-8", "replace"), peak


def part_folder(number: int) -> str:
    """The bundle of part `number` of the index, relative to the site: 0 is the main bundle, others sit inside it."""
    return BUNDLE if number == 0 else f"{BUNDLE}/part-{number}"


def _link_tree(site: Path, farm: Path, files: list[str]) -> None:
    """A folder holding `files` (paths relative to site) at the same paths, hard-linked (copied across devices)."""
    for rel in files:
        target = farm / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(site / rel, target)
        except OSError:
            shutil.copyfile(site / rel, target)


def _index(source: Path, bundle: Path, timeout: float) -> float:
    """Run Pagefind over source into bundle, tidied and stable; return its peak memory in MiB."""
    command = [str(executable()), "--site", str(source), "--output-path", str(bundle), "--silent"]
    code, output, peak_mib = _run(command, timeout=timeout)
    if code != 0 or not (bundle / "pagefind.js").exists():
        detail = output.strip() or f"exit code {code}"
        raise BuildError(f"Pagefind could not index {source}: {detail}")
    for name in UNUSED:
        (bundle / name).unlink(missing_ok=True)
    stabilise(bundle)
    return peak_mib


def _is_part(path: Path) -> bool:
    return path.is_dir() and path.name.startswith("part-")


def _put_in_place(fresh: Path, target: Path, main: bool) -> None:
    """Replace the bundle at target with fresh; the main bundle keeps the parts inside it."""
    if not main:
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fresh, target)
        return
    target.mkdir(parents=True, exist_ok=True)
    for old in target.iterdir():
        if not _is_part(old):
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    for new in fresh.iterdir():
        os.replace(new, target / new.name)


def index_part(site: Path, number: int, files: list[str]) -> float:
    """(Re)build part `number` of the index from `files` (relative to site); return Pagefind's peak memory in MiB."""
    with tempfile.TemporaryDirectory(prefix=".pagefind-", dir=site.parent) as work:
        source = Path(work) / "site"
        source.mkdir()
        _link_tree(site, source, files)
        fresh = Path(work) / "bundle"
        peak = _index(source, fresh, timeout=600)
        _put_in_place(fresh, site / part_folder(number), main=number == 0)
    return peak


def remove_parts_from(site: Path, first: int) -> None:
    """Delete part bundles numbered `first` and above (the site now has fewer parts)."""
    bundle = site / BUNDLE
    if bundle.is_dir():
        for part in bundle.iterdir():
            if _is_part(part) and int(part.name.removeprefix("part-")) >= first:
                shutil.rmtree(part)
