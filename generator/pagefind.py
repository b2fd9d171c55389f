"""Run Pagefind (the binary shipped in the `pagefind-bin` wheel) over pages of a built site.

Each part of the index (see `search_parts`) is built in a scratch folder that
holds just that part's pages, each cut to what Pagefind reads of it
(`generator.searchable`; in memory when there is room, `scratch_parent`). Pagefind's output is then made
stable and written into the site file by file through `write_atomic`:
content-named files first and `pagefind-entry.json` (which names them) last,
an unchanged file left as it is, files the part no longer has deleted after.

Pagefind names its fragments and index chunks after a hash of their bytes
(`CONTENT_NAMED`): one of these already in the part's installed folder is not
read from Pagefind's output (`Bundle`: None stands for it). After an edit, a
part of 500 ideas reads a few files, not 500: the reading, in the search
thread beside the replay, waited for the GIL at every file (0.1-0.4 s at
10,000 ideas, where the files take 0.02 s alone).

Stable: Pagefind (1.3+) writes stable fragments and word indexes, but its
filter files list values in hash-map order, which changes on every run, and
so do their content-hashed names and the metadata file that lists them.
`stabilise` rewrites just those (values sorted, files renamed after a hash of
their bytes, the metadata and the entry updated to match), so a cold and an
incremental build give the same bytes. The files are gzip'd `pagefind_dcd` +
CBOR, read and written with `cbor2`; Pagefind's own JavaScript reads the
result unchanged (the browser tests search it).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cbor2

from .atomic import write_atomic
from .cutpages import Cut, CutStore
from .errors import BuildError
from .searchable import searchable

BUNDLE = "pagefind"
"""Folder of the index inside the site: `/pagefind/pagefind.js`."""

ENTRY = "pagefind-entry.json"
"""The file that names a bundle's metadata: written last, and present only in a complete bundle."""

UNUSED = (
    "pagefind-ui.js",
    "pagefind-ui.css",
    "pagefind-modular-ui.js",
    "pagefind-modular-ui.css",
    "pagefind-component-ui.js",
    "pagefind-component-ui.css",
    "pagefind-highlight.js",
)
"""Pagefind's ready-made interfaces, which the site does not use (it has its own small one)."""

MAIN_ONLY = ("pagefind.js", "pagefind-worker.js", "wasm.")
"""Files (or name prefixes) only the main bundle needs: a merged part is read by the main bundle's script and WebAssembly."""

NO_PAGES: Mapping[str, bytes] = MappingProxyType({})
"""No page given by its bytes: every file is read from the site."""

NO_DIGESTS: Mapping[str, str] = MappingProxyType({})
"""No page's search digest known: no cut page kept from before is used, and none is kept."""

SIGNATURE = b"pagefind_dcd"
"""What every Pagefind data file starts with once un-gzipped."""

CONTENT_NAMED = ("fragment/", "index/")
"""Folders of a bundle whose files Pagefind names after a hash of their bytes: a file of the same name holds the same bytes."""

Bundle = dict[str, bytes | None]
"""A bundle's files by path: their bytes, or None for a content-named file (`CONTENT_NAMED`) already installed under that name."""


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


SAMPLE_SECONDS = 0.02
"""How often Pagefind's memory is sampled while it runs."""


def _exit_fd(pid: int) -> int | None:
    """A file descriptor that becomes readable when process pid exits (a pidfd), or None where Linux has none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _run(command: list[str], timeout: float, started: threading.Event | None = None) -> tuple[int, str, float]:
    """Run command; return its exit code, its output and its peak memory in MiB (`started` is set once it runs).

    The peak is sampled from /proc every `SAMPLE_SECONDS`: the rusage of a child counts
    the memory of this process at the moment it forked, which would hide
    Pagefind's own figure behind the build's. Between samples the wait ends as soon as
    Pagefind exits (not up to 20 ms later, on the path of every edit's search index).
    """
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        if started is not None:
            started.set()
        exited = _exit_fd(proc.pid)
        waiter = select.poll()
        if exited is not None:
            waiter.register(exited, select.POLLIN)
        deadline = time.monotonic() + timeout
        peak = 0.0
        try:
            while proc.poll() is None:
                peak = max(peak, _peak_mib(proc.pid))
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    break
                if exited is None:
                    time.sleep(SAMPLE_SECONDS)
                else:
                    waiter.poll(SAMPLE_SECONDS * 1000)
        finally:
            if exited is not None:
                os.close(exited)
        log.seek(0)
        return proc.returncode, log.read().decode("utf-8", "replace"), peak


def part_folder(number: int) -> str:
    """The bundle of part `number` of the index, relative to the site: 0 is the main bundle, others sit inside it."""
    return BUNDLE if number == 0 else f"{BUNDLE}/part-{number}"


def version() -> str:
    """The installed Pagefind's version ("" if the wheel has no metadata): a new one re-indexes every part."""
    try:
        return metadata.version("pagefind")
    except metadata.PackageNotFoundError:
        return ""


def _copy_tree(
    site: Path, farm: Path, files: list[str], pages: Mapping[str, bytes] = NO_PAGES, digests: Mapping[str, str] = NO_DIGESTS, kept: Cut | None = None
) -> tuple[Cut, int]:
    """A folder holding `files` (paths relative to site) at the same paths, each cut to what Pagefind reads of it (`searchable`).

    `pages`: files given by their bytes (pages not written yet), read from there rather than from site.
    `digests`: each file's search digest (`pagewriter.search_digest`) as the page is now; `kept`: cut pages kept
    from before (`generator.cutpages`), each used for a file whose digest it was cut from (the file is not read).
    Returns the cut pages of the files with a digest, and how many of them were cut here.
    """
    kept = kept or {}
    cut: Cut = {}
    fresh = 0
    for rel in files:
        target = farm / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, known = digests.get(rel), kept.get(rel)
        if digest is not None and known is not None and known[0] == digest:
            piece = known[1]
        else:
            data = pages.get(rel)
            piece = searchable((site / rel).read_bytes() if data is None else data)
            fresh += 1
        if digest is not None:
            cut[rel] = (digest, piece)
        target.write_bytes(piece)
    return cut, fresh


def _files_under(folder: Path, leave_out: tuple[str, ...] = ()) -> list[str]:
    """The files under folder (paths relative to it, sorted), none below a top folder whose name starts with `leave_out`."""
    found: list[str] = []
    pending = [("", os.fspath(folder))]
    while pending:
        prefix, path = pending.pop()
        try:
            entries = list(os.scandir(path))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not (prefix == "" and entry.name.startswith(leave_out) and leave_out):
                    pending.append((f"{prefix}{entry.name}/", entry.path))
            elif entry.is_file():
                found.append(f"{prefix}{entry.name}")
    return sorted(found)


def _read_tree(folder: Path, installed: AbstractSet[str] = frozenset()) -> Bundle:
    """Every file under folder by its path relative to folder; None for a content-named one `installed` has."""
    base = f"{os.fspath(folder)}{os.sep}"
    files: Bundle = {}
    for rel in _files_under(folder):
        if rel in installed and rel.startswith(CONTENT_NAMED):
            files[rel] = None
        else:
            with open(base + rel, "rb") as handle:
                files[rel] = handle.read()
    return files


def _index(source: Path, bundle: Path, timeout: float, started: threading.Event | None = None) -> float:
    """Run Pagefind over source into bundle; return its peak memory in MiB."""
    command = [str(executable()), "--site", str(source), "--output-path", str(bundle), "--silent"]
    code, output, peak_mib = _run(command, timeout, started)
    if code != 0 or not (bundle / ENTRY).exists():
        detail = output.strip() or f"exit code {code}"
        raise BuildError(f"Pagefind could not index {source}: {detail}")
    return peak_mib


def _decode(files: Bundle, name: str) -> Any:
    """Take the Pagefind data file `name` out of files and return its value."""
    raw = files.pop(name)
    if raw is None:  # never content-named (`CONTENT_NAMED`): always read
        raise BuildError(f"Pagefind's {name} was not read: {CONTENT_NAMED} lists a folder it should not")
    data = gzip.decompress(raw)
    if not data.startswith(SIGNATURE):
        raise BuildError(f"Pagefind wrote {name} in a form this build does not know: check the `pagefind` version in pyproject.toml")
    return cbor2.loads(data[len(SIGNATURE) :])


def _encode(value: Any) -> tuple[bytes, str]:
    """A Pagefind data file holding value (gzip'd without a timestamp) and the SHA-256 of its contents."""
    payload = SIGNATURE + cbor2.dumps(value)
    return gzip.compress(payload, compresslevel=9, mtime=0), hashlib.sha256(payload).hexdigest()


def stabilise(files: Bundle) -> Bundle:
    """A bundle's files (by relative path) with each language's filters and metadata in a canonical order."""
    files = dict(files)
    raw_entry = files[ENTRY]
    if raw_entry is None:
        raise BuildError(f"Pagefind's {ENTRY} was not read")
    entry = json.loads(raw_entry)
    for language, info in sorted(entry["languages"].items()):
        meta = _decode(files, f"pagefind.{info['hash']}.pf_meta")
        renamed = []
        for name, old_hash in sorted(meta[3]):
            filter_name, values = _decode(files, f"filter/{old_hash}.pf_filter")
            data, digest = _encode([filter_name, sorted(values, key=lambda item: item[0])])
            new_hash = f"{language}_{digest[:7]}"
            files[f"filter/{new_hash}.pf_filter"] = data
            renamed.append([name, new_hash])
        meta[3] = renamed
        data, digest = _encode(meta)
        info["hash"] = f"{language}_{digest[:13]}"
        files[f"pagefind.{info['hash']}.pf_meta"] = data
    files[ENTRY] = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return files


def _is_part(path: Path) -> bool:
    return path.is_dir() and path.name.startswith("part-")


def _install(files: Bundle, target: Path, main: bool) -> None:
    """Make the bundle at target hold exactly files (None: the file there already); the main bundle keeps the parts inside it."""
    present = set(_files_under(target, ("part-",) if main else ()))
    lost = sorted(rel for rel, data in files.items() if data is None and rel not in present)
    if lost:
        raise BuildError(f"{target / lost[0]} was removed while the search index was made: run the build again")
    for rel in sorted(files, key=lambda rel: (rel == ENTRY, rel)):
        data = files[rel]
        if data is None:
            continue
        path = target / rel
        if not (rel in present and path.read_bytes() == data):
            write_atomic(path, data)
    for rel in sorted(present - files.keys()):
        (target / rel).unlink()


MEMORY_FOLDERS = ("/dev/shm",)
"""Memory file systems a part's scratch work may use (Linux's, where it exists)."""

MEMORY_MARGIN = 64 * 1024 * 1024
"""Room a memory file system must keep free beyond a part's scratch work (a container's /dev/shm may be 64 MiB in all)."""


def scratch_parent(site: Path, files: list[str], pages: Mapping[str, bytes] = NO_PAGES) -> str | None:
    """Where a part's scratch folder goes: a memory file system with room for it, unless TMPDIR says otherwise; None for tempfile's choice.

    Pagefind writes a file per page and its index chunks; in memory, a part of 500 ideas
    took 0.55 s in all where the development machine's disk took 1.0 s.
    """
    if os.environ.get("TMPDIR"):
        return None
    sizes = (len(pages[rel]) if rel in pages else (site / rel).stat().st_size for rel in files)
    needed = 3 * sum(sizes) + MEMORY_MARGIN  # the pages, Pagefind's fragments and chunks
    for folder in MEMORY_FOLDERS:
        try:
            if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK) and shutil.disk_usage(folder).free >= needed:
                return folder
        except OSError:
            continue
    return None


@dataclass(frozen=True)
class PartPages:
    """The pages of part `number` of a site's index: `files` (relative to site), some given by their bytes in `pages`
    (rendered, not written yet); `digests`, each file's search digest as the page is now, and `store`, the cut pages
    kept from before (`generator.cutpages`: a file whose digest is kept is not read), when known."""

    site: Path
    number: int
    files: list[str]
    pages: Mapping[str, bytes] = field(default_factory=lambda: NO_PAGES)
    digests: Mapping[str, str] = field(default_factory=lambda: NO_DIGESTS)
    store: CutStore | None = None


class Scratch:
    """A part's pages copied into a scratch folder, each cut to what Pagefind reads of it (`prepare_part`), for `run_part`.

    The folder goes to memory when it can (`scratch_parent`), else to the system's temporary folder, never beside the
    site: on the development machine, creating a part's 500 or so folders and files there took 0.5 s more than in /tmp.
    `kept`: the part's cut pages kept from before (read from its store when not given).
    """

    def __init__(self, part: PartPages, parent: str | None = None, kept: Cut | None = None) -> None:
        self.part, self.parent = part, parent
        if kept is None:
            kept = part.store.load(part.number) if part.store is not None and part.digests else {}
        self._work = tempfile.TemporaryDirectory(prefix="consult-pagefind-", dir=parent)
        try:
            self.source.mkdir()
            self.cut, self.fresh = _copy_tree(part.site, self.source, part.files, part.pages, part.digests, kept)
        except BaseException:
            self._work.cleanup()
            raise
        self._kept_before = len(kept)

    @property
    def source(self) -> Path:
        return Path(self._work.name) / "site"

    def index(self, started: threading.Event | None = None) -> tuple[Bundle, float]:
        """Pagefind over the copied pages: its bundle's files (None for a content-named file the site's part has
        already) and its peak memory in MiB; the folder is removed after."""
        try:
            fresh = Path(self._work.name) / "bundle"
            peak = _index(self.source, fresh, 600, started)
            installed = self.part.site / part_folder(self.part.number)
            return _read_tree(fresh, set(_files_under(installed, ("part-",) if self.part.number == 0 else ()))), peak
        finally:
            self._work.cleanup()

    def keep_cut(self) -> None:
        """Keep the part's cut pages in its store, when some were cut here or some kept before are no longer in it
        (with no page's digest known, nothing is kept: what was kept stays)."""
        store = self.part.store
        if store is not None and self.part.digests and (self.fresh or len(self.cut) != self._kept_before):
            store.save(self.part.number, self.cut)


def prepare_part(
    site: Path,
    number: int,
    files: list[str],
    pages: Mapping[str, bytes] = NO_PAGES,
    digests: Mapping[str, str] = NO_DIGESTS,
    store: CutStore | None = None,
) -> Scratch:
    """Copy the pages of part `number` (`PartPages`) into a scratch folder for `run_part`.

    Reading and cutting 500 pages is Python work, so a build preparing a part while another thread works holds the GIL
    for it here, where a thread of its own would wait for the GIL at every file.
    """
    part = PartPages(site, number, files, pages, digests, store)
    parent = scratch_parent(site, files, pages)
    try:
        return Scratch(part, parent)
    except OSError:
        if parent is None:
            raise
        return Scratch(part)  # the memory file system filled up meanwhile (another part, another program)


def run_part(scratch: Scratch, started: threading.Event | None = None) -> tuple[Bundle, float]:
    """Pagefind over a prepared part: the bundle's files (made stable, not installed yet) and Pagefind's peak memory in
    MiB; the part's cut pages are kept for the next build (`Scratch.keep_cut`).

    `started` is set once Pagefind runs (in a process of its own, so the caller's thread may hold the GIL from then on).
    """
    try:
        made, peak = scratch.index(started)
    except (BuildError, OSError):
        if scratch.parent is None:
            raise
        # the memory file system filled up meanwhile (another part, another program): again in the system's temporary folder
        made, peak = Scratch(scratch.part, kept=scratch.cut).index(started)
    scratch.keep_cut()
    unused = UNUSED if scratch.part.number == 0 else UNUSED + MAIN_ONLY
    return stabilise({rel: data for rel, data in made.items() if not rel.startswith(unused)}), peak


def install_part(site: Path, number: int, files: Bundle) -> None:
    """Make part `number`'s bundle in site hold exactly files (`run_part`'s)."""
    _install(files, site / part_folder(number), main=number == 0)


def index_part(site: Path, number: int, files: list[str], started: threading.Event | None = None) -> float:
    """(Re)build part `number` of the index from `files` (relative to site) and install it; return Pagefind's peak memory in MiB."""
    made, peak = run_part(prepare_part(site, number, files), started)
    install_part(site, number, made)
    return peak


def remove_parts_from(site: Path, first: int) -> None:
    """Delete part bundles numbered `first` and above (the site now has fewer parts)."""
    bundle = site / BUNDLE
    if bundle.is_dir():
        for part in bundle.iterdir():
            if _is_part(part) and int(part.name.removeprefix("part-")) >= first:
                shutil.rmtree(part)
