"""The build pipeline, in order: load config → load content → validate → render (Pelican) → assets → swap in.

Output is written to a temporary folder beside the target and swapped in only
when every stage succeeded, so a failed build never leaves a half-written site.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2.bccache import Bucket, BytecodeCache

from .assets import Assets, collect
from .clock import system_clock
from .counts import counts_signature
from .errors import BuildError, ContentError
from .freshness import STAMP, clear_stamp, fingerprint, is_current, valid_until, write_stamp
from .loader import ContentCache, Site, load_site, render_markdown
from .pagewriter import MANIFEST, OUTPUTS, PageRenderer, RenderStats, page_file, read_manifest, remove_file
from .paths import COMPILED_CSS, PLUGINS_DIR, PROJECT_DIR, THEME_DIR
from .progress import QUIET, BuildProgress
from .schema import LONDON
from .theme import FILTERS, JINJA_OPTIONS, base_path, template_globals
from .timing import Timings
from .validate import validate
from .views import SiteViews, build_views


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates shared by every plugin's Jinja environment (and by rebuilds in one process).

    Each Pelican generator has its own environment; without this each would
    compile the theme and the NHS.UK macros again. Jinja checks the source's
    checksum, so an edited template is recompiled.
    """

    def __init__(self) -> None:
        self._codes: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._codes:
            bucket.bytecode_from_string(self._codes[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._codes[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = MemoryBytecodeCache()

PLUGINS = ["consult_pages", "consult_feeds", "consult_calendar", "consult_search", "consult_numbers", "consult_open_data"]
"""Pelican plugins from plugins/, in the order they register."""


@dataclass
class BuildResult:
    output: Path
    views: SiteViews
    timings: Timings
    pages_written: int
    render_stats: RenderStats | None = None
    renderer: PageRenderer | None = None


def check(root: Path, cache: ContentCache | None = None) -> Site:
    """Load and validate everything; raise ContentError listing every problem."""
    site, problems = load_site(root, cache)
    if not problems:
        problems = validate(site)
    if problems:
        raise ContentError(problems)
    return site


def pelican_settings(site: Site, views: SiteViews, assets: Assets, output: Path, build_date: dt.date, now: dt.datetime, timings: Timings | None = None) -> dict[str, Any]:
    from nhsuk_frontend_jinja import __file__ as nhsuk_init
    from pelican.settings import read_settings

    content_dir = site.root / "content"
    return read_settings(
        override={
            "PATH": str(content_dir if content_dir.is_dir() else site.root),
            "OUTPUT_PATH": str(output),
            "THEME": str(THEME_DIR),
            "THEME_STATIC_PATHS": [],
            "THEME_TEMPLATES_OVERRIDES": [str(Path(nhsuk_init).parent / "templates")],
            "ARTICLE_PATHS": [],
            "PAGE_PATHS": [],
            "STATIC_PATHS": [],
            "DIRECT_TEMPLATES": [],
            "PAGINATED_TEMPLATES": {},
            "FEED_ALL_ATOM": None,
            "CATEGORY_FEED_ATOM": None,
            "TRANSLATION_FEED_ATOM": None,
            "AUTHOR_FEED_ATOM": None,
            "AUTHOR_FEED_RSS": None,
            "PLUGIN_PATHS": [str(PLUGINS_DIR)],
            "PLUGINS": list(PLUGINS),
            "SITEURL": base_path(site.config.base_url),
            "TIMEZONE": site.config.timezone,
            "DEFAULT_LANG": site.config.language,
            "CACHE_CONTENT": False,
            "LOAD_CONTENT_CACHE": False,
            "DELETE_OUTPUT_DIRECTORY": False,
            "JINJA_ENVIRONMENT": {**JINJA_OPTIONS, "bytecode_cache": TEMPLATE_CACHE, "auto_reload": False},  # a new environment each build: no need to stat templates on every use
            "JINJA_GLOBALS": template_globals(site.config, assets, build_date),
            "JINJA_FILTERS": dict(FILTERS),
            "CONSULT_SITE": site,
            "CONSULT_VIEWS": views,
            "CONSULT_NOW": now,
            "CONSULT_TIMINGS": timings,
        }
    )


def render(settings: dict[str, Any]) -> int:
    """Run Pelican with our plugins; return how many pages were written."""
    from pelican import Pelican
    from pelican.log import console

    quiet, console.quiet = console.quiet, True
    logging.getLogger("pelican").setLevel(logging.WARNING)
    try:
        pelican = Pelican(settings)
        pelican.run()
    finally:
        console.quiet = quiet
    return sum(1 for _ in Path(settings["OUTPUT_PATH"]).rglob("*.html"))


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


def code_signature() -> str:
    """Hash of the code and theme a page is made with: a change here re-renders every page."""
    import nhsuk_frontend_jinja

    digest = hashlib.blake2b(digest_size=16)
    folders = [(PROJECT_DIR / "generator", "*.py"), (PLUGINS_DIR, "**/*.py"), (THEME_DIR / "templates", "**/*.html")]
    files = [p for folder, pattern in folders for p in sorted(folder.glob(pattern))] + [COMPILED_CSS]
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(PROJECT_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    digest.update(Path(nhsuk_frontend_jinja.__file__).parent.as_posix().encode())
    return digest.hexdigest()


def sweep(output: Path, started: float, kept: set[str]) -> int:
    """After an incremental build: remove files this build neither wrote nor kept (a deleted idea's page, say).

    `kept` holds file paths relative to output, and folders (ending in /) kept whole.
    """
    removed = 0
    folders = tuple(prefix for prefix in kept if prefix.endswith("/"))
    for dirpath, dirnames, filenames in os.walk(output, topdown=True):
        rel_dir = os.path.relpath(dirpath, output).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        dirnames[:] = [d for d in dirnames if f"{prefix}{d}/" not in folders]  # kept whole: not even looked at
        for name in filenames:
            rel = f"{prefix}{name}"
            if rel in kept or rel.startswith(folders):
                continue
            path = os.path.join(dirpath, name)
            if os.stat(path).st_mtime < started:
                remove_file(output, Path(path))
                removed += 1
    return removed


def up_to_date(root: Path, output: Path, base_url: str | None = None, now: dt.datetime | None = None, supports: dict[str, int] | None = None) -> bool:
    """Whether the site in output was built from the inputs as they are now (support counts included) and is still right (see freshness)."""
    inputs = fingerprint(root, base_url, code_signature() + counts_signature(supports), collect().files)
    return is_current(output.resolve(), inputs, now or system_clock().now())


def cache_file(root: Path) -> Path:
    """Where `consult build` keeps parsed content between runs (git-ignored)."""
    return root / ".consult" / "cache" / "content.sqlite"


def can_build_incrementally(output: Path) -> bool:
    return (output / MANIFEST).is_file() and (output / "index.html").is_file()


def build(
    root: Path,
    output: Path,
    base_url: str | None = None,
    now: dt.datetime | None = None,
    extra_stages: list[Callable[[Path, SiteViews], None]] | None = None,
    incremental: bool = False,
    search_index: bool = True,
    content_cache: ContentCache | None = None,
    progress: BuildProgress = QUIET,
    supports: dict[str, int] | None = None,
) -> BuildResult:
    """Build the site at root into output.

    Cold (the default, or when there is no earlier build): into a staging
    folder swapped in only on success. Incremental: in place, re-rendering
    only pages whose inputs changed, after the content validated; the result
    is byte-identical to a cold build. `search_index=False` keeps the existing
    search index when pages changed (for previews under `consult serve`).
    `supports` are the support counts per idea slug (`consult build --counts`).
    """
    timings = Timings(progress=progress)
    now = now or system_clock().now()
    with timings.stage("fingerprint"):
        code = code_signature()
        assets = collect()
        inputs = fingerprint(root, base_url, code + counts_signature(supports), assets.files)
    with timings.stage("load"):
        site, problems = load_site(root, content_cache if incremental else None)
    if not problems:
        with timings.stage("validate"):
            problems = validate(site)
    if problems:
        raise ContentError(problems)
    with timings.stage("markdown"):
        render_markdown(site)
    if base_url:
        site.config = site.config.model_copy(update={"base_url": base_url.rstrip("/")})
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    in_place = incremental and can_build_incrementally(output)
    target = output if in_place else Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
    started = time.time()
    if in_place:
        clear_stamp(output)
    try:
        with timings.stage("views"):
            views = build_views(site, now, supports)
        with timings.stage("assets"):
            assets.write(target)
        with timings.stage("pelican"):
            settings = pelican_settings(site, views, assets, target, now.astimezone(LONDON).date(), now, timings)
            settings["CONSULT_INCREMENTAL"] = in_place
            settings["CONSULT_CODE_SIGNATURE"] = code
            settings["CONSULT_SEARCH_INDEX"] = search_index or not in_place
            pages = render(settings)
        for stage in extra_stages or []:
            with timings.stage(stage.__name__):
                stage(target, views)
        stats: RenderStats | None = settings.get("CONSULT_RENDER_STATS")
        if in_place:
            with timings.stage("sweep"):
                kept = {page_file(url) for url in read_manifest(target)} | {MANIFEST, OUTPUTS, STAMP} | settings.get("CONSULT_KEPT", set())
                sweep(target, started, kept)
        else:
            with timings.stage("swap"):
                swap_in(target, output)
    except BaseException:
        if not in_place:
            shutil.rmtree(target, ignore_errors=True)
        raise
    write_stamp(output, inputs, valid_until(views, now))
    return BuildResult(output, views, timings, pages, stats, settings.get("CONSULT_RENDERER"))


__all__ = ["BuildError", "BuildResult", "build", "check"]
