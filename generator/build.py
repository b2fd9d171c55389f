"""The build pipeline, top to bottom in `build()`: fingerprint → load → validate → markdown → views →
assets → Pelican's context → render pages → manifest → feeds → calendar → open data → sitemap → search index →
Pelican's `finalized` → swap in (or sweep, when built in place).

Each stage is a named, timed call taking and returning typed values. A cold
build writes to a staging folder swapped in only when every stage succeeded,
so a failed build never leaves a half-written site. docs/architecture.md
shows the stages and where an extension goes.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from plugins.consult_calendar import write_calendars
from plugins.consult_feeds import write_feeds, write_sitemap
from plugins.consult_open_data import write_open_data
from plugins.consult_search import Ahead, index_search, prepare_ahead_of, previous_parts, record_search, search_ahead

from .assets import MANIFEST as ASSETS_MANIFEST
from .assets import collect
from .atomic import recording_writes, write_atomic
from .clock import system_clock
from .collector import kept_for_the_build
from .contentfiles import ContentFiles
from .counts import counts_signature
from .cutpages import CutStore, cuts_folder
from .engine import Engine, bytecode_cache
from .engine import finish as finish_engine
from .engine import start as start_engine
from .errors import BuildError, ContentError
from .freshness import STAMP, FileStates, cache_file, clear_stamp, code_signature, fingerprint, up_to_date, valid_until, write_stamp
from .keptrelated import RelatedStore, related_file
from .lastoutput import FILES, LastOutput, read_files
from .loader import ContentCache, Site, load_site, render_markdown
from .manifest import CHANGES, MANIFEST, Manifest, write_manifest
from .pagefind import BUNDLE
from .pagewriter import (
    OUTPUTS,
    PageRenderer,
    PageSpec,
    RenderStats,
    edited_pages,
    guessed_index,
    missing_pages,
    page_file,
    previous_manifest,
    remove_file,
    render_ahead,
    render_pages,
    template_context,
)
from .parallel import beside
from .progress import QUIET, BuildProgress
from .reads import SameTexts, globals_signature, same_texts
from .search_parts import IndexUpdate
from .timing import Timings
from .validate import validate
from .views import SiteViews, build_views


@dataclass
class BuildResult:
    output: Path
    views: SiteViews
    timings: Timings
    pages_written: int
    render_stats: RenderStats | None = None
    renderer: PageRenderer | None = None
    search: IndexUpdate | None = None
    """What the search index stage did (None when it did not run)."""


def check(root: Path, cache: ContentCache | None = None) -> Site:
    """Load and validate everything; raise ContentError listing every problem."""
    site, problems = load_site(root, cache)
    if not problems:
        problems = validate(site)
    if problems:
        raise ContentError(problems)
    return site


def swap_in(built: Path, output: Path) -> None:
    """Replace output with built in two renames; the old site is removed afterwards."""
    old = output.with_name(f".{output.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if output.exists():
        os.rename(output, old)
    os.rename(built, output)
    if old.exists():
        shutil.rmtree(old)


ExtraStage = Callable[[Path, SiteViews], str | None]
"""A stage run after the others, writing into the output folder by its own means (the handbook is MkDocs').

It returns the folder it owns whole (relative to the output, ending in /): the build keeps it without looking
inside, and removes it once the stage no longer runs. A stage returning None has its files found by a walk.
"""


def _folders(kept: set[str]) -> tuple[str, ...]:
    return tuple(prefix for prefix in kept if prefix.endswith("/"))


def present_files(output: Path, kept: set[str]) -> set[str]:
    """Every file in output (relative paths), not looking inside the folders kept whole."""
    folders = _folders(kept)
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(output, topdown=True):
        rel_dir = os.path.relpath(dirpath, output).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        dirnames[:] = [d for d in dirnames if f"{prefix}{d}/" not in folders]
        found.update(f"{prefix}{name}" for name in filenames)
    return found


def owned_files(output: Path, kept: set[str], written: set[str]) -> set[str]:
    """The files this build wrote or kept (relative to output), outside the folders kept whole."""
    folders = _folders(kept)
    base = f"{os.fspath(output)}{os.sep}"
    relative = {path[len(base) :].replace(os.sep, "/") for path in written if path.startswith(base)}
    return {rel for rel in kept | relative if not rel.endswith("/") and not rel.startswith(folders)}


def record_files(output: Path, files: set[str]) -> None:
    write_atomic(output / FILES, "".join(f"{rel}\n" for rel in sorted(files)))


def sweep(output: Path, started: float, kept: set[str], owned: set[str], previous: set[str] | None) -> int:
    """After an incremental build: remove the files this build neither wrote nor kept (a deleted idea's page, say).

    `kept` holds file paths relative to output, and folders (ending in /) kept whole; `owned` what this
    build wrote or kept. With the last build's record of its files (`previous`), only those are looked
    at (a folder it records, which an extra stage kept whole, is removed once nothing keeps it); without
    one, the whole folder is walked and files older than the build's start are removed.
    """
    if previous is not None:
        folders = _folders(kept)
        stale = [output / rel for rel in previous - owned - kept if not rel.startswith(folders)]
    else:
        stale = [output / rel for rel in present_files(output, kept) - owned if os.stat(output / rel).st_mtime < started]
    removed = 0
    for path in stale:
        if path.is_dir() and not path.is_symlink():  # a folder an extra stage kept whole, and no longer does
            shutil.rmtree(path)
            removed += 1
        elif path.is_file():
            remove_file(output, path)
            removed += 1
    return removed


def filesystem_now(folder: Path) -> float:
    """The modification time the filesystem gives a file written now.

    Its clock is coarser than `time.time()` and can lag it by a tick, so a file
    written just after `time.time()` was read may look older; `sweep` compares
    modification times with this instead.
    """
    marker = folder / ".consult-started"
    marker.touch()
    try:
        return marker.stat().st_mtime
    finally:
        marker.unlink()


def can_build_incrementally(output: Path) -> bool:
    return (output / MANIFEST).is_file() and (output / "index.html").is_file()


@dataclass(frozen=True)
class Target:
    """Where this build writes: the output itself (an incremental build, in place) or a staging folder swapped in at the end."""

    path: Path
    in_place: bool


def prepare_target(output: Path, incremental: bool) -> Target:
    output.parent.mkdir(parents=True, exist_ok=True)
    if incremental and can_build_incrementally(output):
        clear_stamp(output)
        return Target(output, True)
    return Target(Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent)), False)


def load_content(root: Path, cache: ContentCache | None, states: FileStates | None = None, files: ContentFiles | None = None) -> Site:
    """Read every content file (the cache's parsed files reused); raise ContentError listing every problem.

    `states`: the files' sizes and modification times as the fingerprint saw them (not looked at again);
    `files`: the content files, when they were listed already.
    """
    site, problems = load_site(root, cache, states, files)
    if problems:
        raise ContentError(problems)
    return site


def validate_content(site: Site) -> None:
    problems = validate(site)
    if problems:
        raise ContentError(problems)


@dataclass
class OtherFiles:
    """What the stages beside rendering did: the files they kept as they were, the files they wrote, their times."""

    kept: list[str]
    written: set[str]
    stages: dict[str, float]


def write_other_files(views: SiteViews, target: Target, code: str) -> OtherFiles:
    """The feeds, calendar and open data stages: files that are not pages, so they can be written beside the rendering."""
    timings = Timings()
    with recording_writes() as written:
        with timings.stage("feeds"):
            write_feeds(views, target.path)
        with timings.stage("calendar"):
            write_calendars(views, target.path)
        with timings.stage("open data"):
            kept = write_open_data(views, target.path, code, target.in_place)
    return OtherFiles(kept, written, timings.stages)


def last_pages(engine: Engine, target: Target, one_shot: bool) -> Manifest:
    """What each page of the last build read (`previous_manifest`): empty for a cold build, or when the code, theme or templates' globals changed."""
    return previous_manifest(target.path, target.in_place, globals_signature(engine.env, engine.context["code_signature"]), one_shot)


def ahead_of_pages(
    engine: Engine,
    specs: list[PageSpec],
    previous: Manifest,
    target: Target,
    code: str,
    parts: list[str],
    background: ThreadPoolExecutor,
    cuts: CutStore | None = None,
    same: SameTexts | None = None,
) -> Ahead | None:
    """An edit's own pages rendered ahead (`edited_pages`, not written yet), their search part copied for Pagefind, and
    Pagefind started on it in the search thread while the other pages are looked at; None when there is no such page.

    `parts`: the search parts' signatures as the last build left them. Pagefind reads only the pages, so the part made
    ahead is right when no other page of it changed, which `index_search` checks before installing it. `cuts`: the
    parts' cut pages kept from before (`generator.cutpages`). `same`: the texts compared (`reads.same_texts`).
    """
    edited = edited_pages(specs, previous, same)
    if not edited:
        return None
    pages = render_ahead(engine.env, engine.context, edited)
    guessed = guessed_index(previous, pages, {spec.file: spec.url for spec in edited})
    try:
        prepared = prepare_ahead_of(engine.context["views"], guessed, target.path, code, parts, pages, cuts)
    except OSError:  # no room for a scratch folder now: the part is made after the page build, as without an edit's pages
        return None
    return search_ahead(prepared, background)


def write_pages(
    engine: Engine,
    specs: list[PageSpec],
    previous: Manifest,
    missing: set[str],
    target: Target,
    timings: Timings,
    one_shot: bool,
    same: SameTexts | None = None,
) -> RenderStats:
    """Render every page the plugins describe whose recorded reads give other values now, or whose file is `missing`
    (all of them in a cold build)."""
    views: SiteViews = engine.context["views"]
    stats = render_pages(
        engine.env, engine.context, specs, target.path, previous, views, missing, progress=timings.progress, one_shot=one_shot, same=same
    )
    timings.split("render pages", "write pages", stats.write_seconds)
    return stats


def build(
    root: Path,
    output: Path,
    base_url: str | None = None,
    now: dt.datetime | None = None,
    extra_stages: Sequence[ExtraStage] | None = None,
    incremental: bool = False,
    search_index: bool = True,
    content_cache: ContentCache | None = None,
    keep_cache: bool = False,
    progress: BuildProgress = QUIET,
    supports: dict[str, int] | None = None,
    inputs: str | None = None,
    file_states: FileStates | None = None,
    file_listing: ContentFiles | None = None,
    last_output: LastOutput | None = None,
    one_shot: bool = False,
) -> BuildResult:
    """Build the site at root into output: the whole pipeline, stage by stage, in order.

    Cold (the default, or when there is no earlier build): into a staging
    folder swapped in only on success. Incremental: in place, re-rendering
    only pages whose inputs changed, after the content validated; the result
    is byte-identical to a cold build. `search_index=False` keeps the existing
    search index when pages changed (for previews under `consult serve`).
    `supports` are the support counts per idea slug (`consult build --counts`).
    `keep_cache`: save `content_cache` in root's `.consult/` once the pages are written, and keep the search parts'
    cut pages (`generator.cutpages`) and the related ideas (`generator.keptrelated`) there (`consult build`; `consult
    serve` keeps its cache in memory).
    `inputs` is the `input_fingerprint` when the caller took it already (to ask `up_to_date`), and
    `file_states` what it saw of the content files (its `states`), `file_listing` the content files when they
    were listed already (`generator.startup`), `last_output` what the last build left in output, when it was looked at
    already (`generator.lastoutput`: the files it listed, and its pages gone since). `one_shot`: the process ends after
    this build (`consult build`), so what it arranges is kept out of the cycle collector's reach
    (never under `consult serve`, whose views are replaced on every rebuild).
    Each stage is timed (`consult build --timings`); docs/architecture.md
    describes them and where an extension goes.
    """
    timings = Timings(progress=progress)
    stage = timings.stage
    now = now or system_clock().now()
    with stage("fingerprint"):
        code = code_signature()
        assets = collect()
        if inputs is None:
            file_states = {}
            inputs = fingerprint(root, base_url, code + counts_signature(supports), assets.files, file_states)
    with stage("load"):
        # a clean build is given an empty cache: it parses everything, and keeps it
        site = load_content(root, content_cache, file_states, file_listing)
    with stage("validate"):
        validate_content(site)
    with stage("markdown"):
        render_markdown(site)
    if base_url:
        site.config = site.config.model_copy(update={"base_url": base_url.rstrip("/")})
    # one_shot: the views live as long as the process, so they are frozen out of the collector's reach before it
    # runs again (frozen after it resumed, they were first walked by a young collection: 0.27 s at 50,000 ideas)
    related = RelatedStore(related_file(cache_file(root).parent), code, reuse=incremental) if keep_cache else None
    with stage("views"), kept_for_the_build(one_shot):
        views = build_views(site, now, supports, related.link if related is not None else None)
    output = output.resolve()
    target = prepare_target(output, incremental)
    started = filesystem_now(target.path)
    cuts = CutStore(cuts_folder(root), code, reuse=incremental) if keep_cache else None  # the search parts' cut pages, beside the content cache
    previous_files: set[str] | None = None
    if not target.in_place:
        last_output = None  # a cold build writes into a staging folder, every page anew
    elif last_output is not None:
        previous_files = last_output.files
    else:
        previous_files = read_files(target.path)
    try:
        with recording_writes() as written, ThreadPoolExecutor(max_workers=1) as background:
            with stage("assets"):
                assets.write(target.path)
            with stage("pelican"):
                engine = start_engine(site, views, assets, target.path, now, code, bytecode_cache(root))

            def render_then_index() -> tuple[RenderStats, Future[IndexUpdate] | None]:
                indexes = search_index or not target.in_place or not (target.path / BUNDLE).is_dir()
                parts = previous_parts(target.path, target.in_place)
                ahead = None
                with stage("render pages"):
                    specs = list(engine.page_specs())
                    previous = last_pages(engine, target, one_shot)
                    missing = missing_pages(target.path, specs, previous, last_output)  # before Pagefind runs beside: `missing_pages`
                    # once, for the pages rendered ahead and for the replay; a cold build has nothing recorded to compare
                    same = same_texts(previous.tables.models) if previous.tables.models else None
                    if indexes and target.in_place:
                        with stage("search ahead"):  # an edit's own pages, and Pagefind on their part while the others are looked at
                            ahead = ahead_of_pages(engine, specs, previous, target, code, parts, background, cuts, same)
                    rendered = write_pages(engine, specs, previous, missing, target, timings, one_shot, same)
                indexing = None
                pagefind_runs = threading.Event()
                if indexes:
                    timings.note_build_peak()  # before Pagefind, whose memory is reported on its own
                    # Pagefind reads only the written pages: it starts now (after the part made ahead, if any), and "search index" waits for it
                    indexing = background.submit(index_search, views, rendered.indexed, target.path, code, parts, pagefind_runs, ahead, cuts)
                    # Pickling the manifest holds the GIL throughout: first let the search thread get Pagefind
                    # running in its own process (or find nothing to index), which took it 0.3 s more behind the pickling
                    (pagefind_runs if ahead is None else ahead.started).wait()
                if rendered.manifest is not None:
                    with stage("manifest"):  # while Pagefind works
                        write_manifest(target.path, rendered.manifest)
                    if not one_shot:  # written: not kept in the result, which `consult serve` keeps (freeing it took 0.04 s)
                        rendered.manifest = None
                if keep_cache and content_cache is not None:
                    with stage("content cache"):  # while Pagefind works; its records hold whatever the build does next
                        content_cache.save(cache_file(root))
                return rendered, indexing

            # feeds, calendar and open data need no page: written in a forked process while the pages render
            (pages, indexing), other = beside(render_then_index, lambda: write_other_files(views, target, code))
            written |= other.written
            timings.stages.update(other.stages)
            kept_data = other.kept
            with stage("sitemap"):
                write_sitemap(views, pages.urls, target.path)
            kept = {page_file(url) for url in pages.urls}  # while Pagefind works
            search = None
            if indexing is not None:
                with stage("search index"):
                    search = indexing.result()
                    record_search(target.path, search)
                if search.reindexed:
                    timings.peaks["search index"] = search.peak_mib
            with stage("finalized"):
                finish_engine(engine)
            stage_folders: set[str] = set()
            walk = False
            for extra in extra_stages or []:
                with stage(extra.__name__):
                    folder = extra(target.path, views)
                if folder is None:
                    walk = True
                else:
                    stage_folders.add(folder.rstrip("/") + "/")
        kept |= {
            MANIFEST,
            CHANGES,
            OUTPUTS,
            STAMP,
            FILES,
            ASSETS_MANIFEST,
            f"{BUNDLE}/",
            *assets.contents,
            *kept_data,
            *stage_folders,
        }
        owned = owned_files(target.path, kept, written)
        if target.in_place:
            with stage("sweep"):
                sweep(target.path, started, kept, owned, None if walk else previous_files)
        if walk:  # a stage wrote by its own means and did not say where: what it left is found by a walk
            owned = present_files(target.path, kept)
        files = owned | stage_folders
        if files != previous_files:
            record_files(target.path, files)
        if not target.in_place:
            with stage("swap"):
                swap_in(target.path, output)
    except BaseException:
        if not target.in_place:
            shutil.rmtree(target.path, ignore_errors=True)
        raise
    timings.note_build_peak()
    write_stamp(output, inputs, valid_until(views, now))
    timings.stop()
    return BuildResult(output, views, timings, len(pages.urls), pages, PageRenderer(engine.env, template_context(engine.context)), search)


__all__ = ["BuildError", "BuildResult", "build", "cache_file", "check", "up_to_date"]
