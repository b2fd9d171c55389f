"""Render pages from specs: skip the unchanged, use both cores, write only what changed.

Each page is described by a `PageSpec` (URL, template, its own values). While
a page renders, what its templates read is recorded (see generator/reads.py),
and the manifest kept in the output folder (`.consult-manifest.pickle`) holds,
per page, the reads it made and the pieces it includes, a hash of the file
written and whether it is in the search index. The next build replays the
reads against the new views: a page is rendered again only if one of them
gives a different value, or if the code, theme or templates' globals changed.
Rendering is a deterministic function of what it read, so a skipped page is
byte-identical to what a cold build would write.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment

from . import reads
from .atomic import write_atomic
from .collector import kept_for_the_build
from .lastoutput import LastOutput
from .manifest import Base, Manifest, PageRecord, read_manifest
from .parallel import Counter, can_fork, run_shares, workers
from .progress import QUIET, BuildProgress
from .reads import Recorder, Replay, SameTexts, Tables
from .theme import forget

if TYPE_CHECKING:
    from .views import SiteViews

OUTPUTS = ".consult-outputs.json"
"""Signatures of the inputs of other generated files (open data), so a warm build can keep them."""
PARALLEL_THRESHOLD = 400
"""Below this many pages to render, forking a second process costs more than it saves."""


def page_file(url: str) -> str:
    """The file a page's URL is written to, relative to the site: `/ideas/x/` → `ideas/x/index.html`, `/404.html` as it is."""
    if url.endswith(".html"):
        return url.lstrip("/")
    stripped = url.strip("/")
    return f"{stripped}/index.html" if stripped else "index.html"


@dataclass(frozen=True)
class PageSpec:
    url: str
    """`/ideas/x/` (written as ideas/x/index.html) or `/404.html`."""
    template: str
    values: dict[str, Any] = field(hash=False, compare=False)
    """The page's own values (what it reads of them is found while it renders)."""

    @property
    def file(self) -> str:
        return page_file(self.url)


@dataclass
class RenderStats:
    total: int = 0
    rendered: int = 0
    removed: int = 0
    processes: int = 1
    write_seconds: float = 0.0
    """Of the time rendering took, how much went on writing files (per process, when several wrote at once)."""
    indexed: dict[str, str] = field(default_factory=dict)
    """URL → hash of the file of every page in the search index."""
    urls: list[str] = field(default_factory=list)
    """Every page of the site, in the order the plugins describe them."""
    manifest: Manifest | None = None
    """This build's manifest, for `write_manifest` (the pipeline writes it once the search index has started; dropped then, unless the build is one-shot)."""


INDEX_MARK = b"data-pagefind-body"
"""What makes a page part of the search index: the templates decide, the written page tells."""


def search_digest(data: bytes) -> str:
    """A page's signature in the search index ("" for a page not in it): only the search index's parts use it."""
    return hashlib.blake2b(data, digest_size=16).hexdigest() if INDEX_MARK in data else ""


def page_record(data: bytes, seen: reads.Reads) -> PageRecord:
    digest = search_digest(data)
    return PageRecord(digest, bool(digest), tuple(sorted(seen.pairs)), tuple(sorted(seen.pieces)), seen.roots)


def remove_file(output: Path, path: Path) -> None:
    """Delete a file of the site, and the folders it leaves empty (up to output)."""
    path.unlink()
    folder = path.parent
    while folder != output and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def roots(spec: PageSpec) -> dict[str, Any]:
    """What a page's context holds beyond the context every page shares."""
    return {"page_url": spec.url, **spec.values}


def _render_one(env: Environment, context: dict[str, Any], spec: PageSpec) -> bytes:
    template = env.get_template(f"{spec.template}.html")
    return template.render({**context, **roots(spec)}).encode("utf-8")


def _render_recorded(env: Environment, context: dict[str, Any], spec: PageSpec) -> tuple[bytes, PageRecord]:
    """Render a page while the active recorder notes what it reads."""
    assert reads.ACTIVE.recorder is not None
    with reads.ACTIVE.recorder.page(roots(spec)) as seen:
        data = _render_one(env, context, spec)
    return data, page_record(data, seen)


def template_context(context: dict[str, Any]) -> dict[str, Any]:
    """Pelican's context without its settings: no template reads them, and every include copies the context."""
    return {key: value for key, value in context.items() if not key.isupper()}


@dataclass
class PageRenderer:
    """What the last build rendered pages with, kept so `consult serve` can re-render one page at once."""

    env: Environment
    context: dict[str, Any]

    def write(self, spec: PageSpec, output: Path) -> None:
        forget(self.env)  # the page's views may have changed since the build: reuse no markup made from them
        write_atomic(output / spec.file, _render_one(self.env, self.context, spec))


Rendered = list[tuple[str, PageRecord]]
"""Pages' URLs and records, as a render share hands them back."""


def _render_share(
    env: Environment, context: dict[str, Any], specs: list[PageSpec], output: Path, done: Counter | None, progress: BuildProgress
) -> tuple[float, Rendered]:
    """Render and write one worker's share of the pages; return the seconds spent writing and the pages' records."""
    writing = 0.0
    records: Rendered = []
    for spec in specs:
        data, record = _render_recorded(env, context, spec)
        records.append((spec.url, record))
        start = time.perf_counter()
        write_atomic(output / spec.file, data)
        writing += time.perf_counter() - start
        if done is not None:
            done.add()
            progress.set_done(done.value)
    return writing, records


def _render_parallel(
    env: Environment, context: dict[str, Any], todo: list[PageSpec], output: Path, processes: int, progress: BuildProgress
) -> tuple[float, Rendered]:
    """Render todo in `processes` shares (this process and forks); return the seconds spent writing (per process) and the records."""
    recorder = reads.ACTIVE.recorder
    assert recorder is not None
    done = Counter() if progress.enabled else None

    base = recorder.tables.sizes

    def share(worker: int) -> tuple[float, Rendered, tuple[Tables, dict[int, reads.PieceKey]] | None]:
        writing, records = _render_share(env, context, todo[worker::processes], output, done, progress if worker == 0 else QUIET)
        return writing, records, (recorder.tables.tail(base), recorder.piece_keys(base[1])) if worker else None

    shares = run_shares(share, processes, waiting=lambda: progress.set_done(done.value) if done else None)  # only share 0 moves the bar
    writing, records = 0.0, []
    for seconds, share_records, added in shares:
        writing += seconds
        if added is None:
            records += share_records
        else:  # a forked worker's reads and pieces, numbered from `base` in its copy of the tables
            renumber = recorder.merge(*added, base)
            records += [(url, record.renumbered(renumber)) for url, record in share_records]
    return writing / len(shares), records  # the processes wrote side by side


def _render_here(env: Environment, context: dict[str, Any], todo: list[PageSpec], output: Path, progress: BuildProgress) -> tuple[float, Rendered]:
    """Render todo in this process, all in memory first (a failure writes nothing); return the seconds spent writing and the records."""
    rendered = []
    for spec in todo:
        rendered.append((spec, *_render_recorded(env, context, spec)))
        progress.set_done(len(rendered))
    start = time.perf_counter()
    for spec, data, _ in rendered:
        write_atomic(output / spec.file, data)
    return time.perf_counter() - start, [(spec.url, record) for spec, _, record in rendered]


def missing_pages(output: Path, specs: Iterable[PageSpec], previous: Manifest, looked: LastOutput | None = None) -> set[str]:
    """The URLs of the last build's pages whose file is gone from output (removed by hand, say): rendered whatever their reads give.

    `looked`: the output as it was looked at when the build started (`generator.lastoutput`, by `consult build`'s
    forked process): a page it looked for is not looked for again. Each lookup is a system call; 16,554 of them took
    0.1-0.2 s on the main thread of an edit at 10,000 ideas, and `build` asks before Pagefind starts on an edit's part
    (`ahead_of_pages`): beside Pagefind and the search thread, they took 0.15-0.2 s more again.
    """
    if not previous.pages:
        return set()
    base, kept = f"{os.fspath(output)}{os.sep}", previous.pages
    exists = os.path.exists  # str paths: 16,000 Paths cost 0.1 s
    if looked is None:
        return {spec.url for spec in specs if spec.url in kept and not exists(base + spec.file)}
    missing = set()
    for spec in specs:
        if spec.url in kept:
            gone = looked.is_gone(spec.file)
            if gone if gone is not None else not exists(base + spec.file):
                missing.add(spec.url)
    return missing


def pages_to_render(
    env: Environment,
    context: dict[str, Any],
    specs: list[PageSpec],
    previous: Manifest,
    views: SiteViews,
    missing: AbstractSet[str],
    same: SameTexts | None = None,
) -> list[PageSpec]:
    """The specs whose page is new, `missing` (`missing_pages`), or whose recorded reads give a different value now.
    `same`: the texts compared (`reads.same_texts`), when the caller has them."""
    if not previous.pages:
        return specs
    replay = Replay(env, previous.tables, views.by_identity(), context, same=same)
    todo = []
    for spec in specs:
        record = previous.pages.get(spec.url)
        if record is None or spec.url in missing or not replay.unchanged(record.pairs, record.pieces, record.roots, roots(spec)):
            todo.append(spec)
    return todo


def previous_manifest(output: Path, incremental: bool, made_with: str, one_shot: bool = False) -> Manifest:
    """The last build's manifest (empty for a cold build), or an empty one naming `made_with` when the code, theme or
    templates' globals changed since (`reads.globals_signature`): every page is then rendered.

    `one_shot`: the process ends after this build, so the records are frozen out of the cycle collector's reach (`kept_for_the_build`).
    """
    # hundreds of thousands of small objects, kept for the whole build: out of the cycle collector's way
    with kept_for_the_build(one_shot):
        previous = read_manifest(output) if incremental else Manifest()
    return previous if previous.made_with == made_with else Manifest(made_with)


AHEAD_AT_MOST = 8
"""An edit's own pages (`edited_pages`) are rendered ahead only when there are at most this many."""


def edited_pages(specs: Sequence[PageSpec], previous: Manifest, same: SameTexts | None = None) -> list[PageSpec]:
    """The pages whose own values hold a view whose content file changed since the last build, or is new (an edited or
    added idea's page, say), when there are a few of them (`AHEAD_AT_MOST`) and the site has the pages it had then, and
    these; else none.

    Rendered ahead (`render_ahead`), they let the search index start on their part while the other pages are looked at.
    Only a guess: what they show, and which other pages changed, is found by the replay as always.
    `same`: the texts compared (`reads.same_texts`), when the caller has them.
    """
    if not previous.tables.models:
        return []
    edited = (reads.same_texts(previous.tables.models) if same is None else same).edited
    if not edited:
        return []
    found = []
    for spec in specs:
        for value in spec.values.values():
            if getattr(value, "read_identity", None) in edited:
                found.append(spec)
                break
    if len(found) > AHEAD_AT_MOST:
        return []
    added = {spec.url for spec in specs if spec.url not in previous.pages}
    if len(specs) - len(added) != len(previous.pages) or not added <= {spec.url for spec in found}:
        return []  # pages gone, or new pages that are not an edit's own
    return found


def render_ahead(env: Environment, context: dict[str, Any], specs: Sequence[PageSpec]) -> dict[str, bytes]:
    """The pages of specs rendered without recording their reads (they are rendered again, recorded, if the replay finds
    them changed), by file; the environment then forgets the markup it reused, so the page build starts afresh."""
    context = template_context(context)
    forget(env)
    try:
        return {spec.file: _render_one(env, context, spec) for spec in specs}
    finally:
        forget(env)


def guessed_index(previous: Manifest, ahead: Mapping[str, bytes], urls: Mapping[str, str]) -> dict[str, str]:
    """The search index's page signatures as the build expects them: the last build's, with the pages rendered ahead
    (`ahead`, by file; `urls` gives each file's URL) as rendered."""
    guessed = {url: record.digest for url, record in previous.pages.items() if record.indexed}
    for file, data in ahead.items():
        digest = search_digest(data)
        if digest:
            guessed[urls[file]] = digest
        else:
            guessed.pop(urls[file], None)
    return guessed


def render_pages(
    env: Environment,
    context: dict[str, Any],
    specs: Iterable[PageSpec],
    output: Path,
    previous: Manifest,
    views: SiteViews,
    missing: AbstractSet[str],
    progress: BuildProgress = QUIET,
    one_shot: bool = False,
    same: SameTexts | None = None,
) -> RenderStats:
    """Render every page whose recorded reads changed since the `previous` manifest (`previous_manifest`; all of them
    when it is empty), or whose file is `missing` (`missing_pages`), into output.
    `same`: the texts compared (`reads.same_texts`), when the caller has them.

    `one_shot`: the process ends after this build, so what the replay keeps is frozen out of the cycle collector's reach.
    """
    specs = list(specs)
    context = template_context(context)
    made_with = previous.made_with
    with kept_for_the_build(one_shot):
        todo = pages_to_render(env, context, specs, previous, views, missing, same)
    stats = RenderStats(total=len(specs), rendered=len(todo))
    processes = workers() if len(todo) >= PARALLEL_THRESHOLD and can_fork() else 1
    progress.stage("render pages", total=len(todo))
    forget(env)
    with reads.recording(Recorder(context, previous.tables)) as recorder:
        if processes > 1:
            stats.write_seconds, records = _render_parallel(env, context, todo, output, processes, progress)
            stats.processes = processes
        else:
            stats.write_seconds, records = _render_here(env, context, todo, output, progress)
    current = {s.url for s in specs}
    for url in set(previous.pages) - current:
        stale = output / page_file(url)
        if stale.exists():
            remove_file(output, stale)
            stats.removed += 1
    pages = {url: record for url, record in previous.pages.items() if url in current}
    pages.update(records)
    # compacted by `write_manifest` (while Pagefind works): a cold build's reads, never compacted, are numbered in runs there
    base, changed = (previous.base, previous.changed | {url for url, _ in records}) if previous.pages else (Base(), set())
    manifest = Manifest(made_with, recorder.tables, pages, previous.compacted if previous.pages else 0, base, changed)
    stats.indexed = {url: record.digest for url, record in manifest.pages.items() if record.indexed}
    stats.urls = [s.url for s in specs]
    stats.manifest = manifest
    return stats


def read_outputs(output: Path) -> dict[str, str]:
    try:
        return json.loads((output / OUTPUTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def record_output(output: Path, name: str, value: str) -> None:
    """Remember the signature `name`'s files were last written with."""
    outputs = read_outputs(output)
    outputs[name] = value
    write_atomic(output / OUTPUTS, json.dumps(outputs, sort_keys=True, indent=0).encode())
