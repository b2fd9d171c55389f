"""The build pipeline, in order: load config → load content → validate → render (Pelican) → assets → swap in.

Output is written to a temporary folder beside the target and swapped in only
when every stage succeeded, so a failed build never leaves a half-written site.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .assets import Assets, collect
from .errors import BuildError, ContentError
from .loader import Site, load_site
from .paths import PLUGINS_DIR, THEME_DIR
from .theme import FILTERS, JINJA_OPTIONS, base_path, template_globals
from .validate import validate
from .views import SiteViews, build_views

PLUGINS = ["consult_pages"]
"""Pelican plugins from plugins/, in the order they register."""


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start

    def lines(self) -> list[str]:
        total = sum(self.stages.values())
        rows = [f"{name:<14} {seconds:8.3f} s" for name, seconds in self.stages.items()]
        return rows + [f"{'total':<14} {total:8.3f} s"]


@dataclass
class BuildResult:
    output: Path
    views: SiteViews
    timings: Timings
    pages_written: int


def check(root: Path) -> Site:
    """Load and validate everything; raise ContentError listing every problem."""
    site, problems = load_site(root)
    if not problems:
        problems = validate(site)
    if problems:
        raise ContentError(problems)
    return site


def pelican_settings(site: Site, views: SiteViews, assets: Assets, output: Path, build_date: dt.date, now: dt.datetime) -> dict[str, Any]:
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
            "JINJA_ENVIRONMENT": dict(JINJA_OPTIONS),
            "JINJA_GLOBALS": template_globals(site.config, assets, build_date),
            "JINJA_FILTERS": dict(FILTERS),
            "CONSULT_SITE": site,
            "CONSULT_VIEWS": views,
            "CONSULT_NOW": now,
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


def build(
    root: Path,
    output: Path,
    base_url: str | None = None,
    now: dt.datetime | None = None,
    extra_stages: list[Callable[[Path, SiteViews], None]] | None = None,
) -> BuildResult:
    """Build the site at root into output, atomically."""
    timings = Timings()
    with timings.stage("load+validate"):
        site = check(root)
    if base_url:
        site.config = site.config.model_copy(update={"base_url": base_url.rstrip("/")})
    now = now or dt.datetime.now(dt.timezone.utc)
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
    try:
        with timings.stage("views"):
            views = build_views(site)
        with timings.stage("assets"):
            assets = collect()
            assets.write(staging)
        with timings.stage("render"):
            settings = pelican_settings(site, views, assets, staging, now.date(), now)
            pages = render(settings)
        for stage in extra_stages or []:
            with timings.stage(stage.__name__):
                stage(staging, views)
        with timings.stage("swap"):
            swap_in(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildResult(output, views, timings, pages)


__all__ = ["BuildError", "BuildResult", "build", "check"]
