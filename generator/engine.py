"""Pelican, the site engine, used through its documented extension points.

`start` runs what Pelican's own `run()` does before it writes anything: it
reads the settings, registers the plugins (each plugin's `register()`),
creates every generator the plugins offer through the `get_generators`
signal, lets each add what it shows on every page to the shared context
(`generate_context`), and sends `all_generators_finalized`. The pipeline in
`generator.build` then calls the named output stages itself, and `finish`
sends `finalized` so any other Pelican plugin can act on the whole site.

Pelican's default generators (articles, pages, static files, direct
templates) are not created: the consultation's pages are rendered by the
pipeline's own "render pages" stage from typed views.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemBytecodeCache
from jinja2.bccache import BytecodeCache

from .assets import Assets
from .loader import Site
from .pagewriter import PageSpec
from .paths import THEME_DIR
from .theme import FILTERS, JINJA_OPTIONS, ConsultEnvironment, base_path, template_globals
from .views import SiteViews

G = TypeVar("G")


def plugins() -> list[ModuleType]:
    """The consultation's Pelican plugins, in the order they register (and add to the context)."""
    from plugins import consult_calendar, consult_feeds, consult_numbers, consult_open_data, consult_pages, consult_search

    return [consult_pages, consult_feeds, consult_calendar, consult_search, consult_numbers, consult_open_data]


def bytecode_cache(root: Path) -> BytecodeCache | None:
    """Compiled templates kept under `.consult/` between builds (Jinja checks each template's source checksum).

    None (compile in memory) when the folder cannot be made, a read-only checkout say.
    """
    folder = root / ".consult" / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


def settings_for(site: Site, assets: Assets, output: Path, bytecode: BytecodeCache | None) -> dict[str, Any]:
    """Pelican's settings: the theme and Jinja set-up only. Content reaches the plugins through the context."""
    from nhsuk_frontend_jinja import __file__ as nhsuk_init
    from pelican.settings import read_settings

    content_dir = site.root / "content"
    options: dict[str, Any] = {**JINJA_OPTIONS, "auto_reload": False}  # a new environment each build: no need to stat templates on every use
    if bytecode is not None:
        options["bytecode_cache"] = bytecode
    return read_settings(
        override={
            "PATH": str(content_dir if content_dir.is_dir() else site.root),
            "OUTPUT_PATH": str(output),
            "THEME": str(THEME_DIR),
            "THEME_STATIC_PATHS": [],
            "THEME_TEMPLATES_OVERRIDES": [str(Path(nhsuk_init).parent / "templates")],
            "FEED_ALL_ATOM": None,  # the feeds plugin writes the site's feeds; Pelican's own are off
            "CATEGORY_FEED_ATOM": None,
            "TRANSLATION_FEED_ATOM": None,
            "AUTHOR_FEED_ATOM": None,
            "AUTHOR_FEED_RSS": None,
            "PLUGINS": plugins(),
            "SITEURL": base_path(site.config.base_url),
            "TIMEZONE": site.config.timezone,
            "DEFAULT_LANG": site.config.language,
            "CACHE_CONTENT": False,
            "LOAD_CONTENT_CACHE": False,
            "DELETE_OUTPUT_DIRECTORY": False,
            "JINJA_ENVIRONMENT": options,
            "JINJA_GLOBALS": template_globals(site.config, assets),
            "JINJA_FILTERS": dict(FILTERS),
        }
    )


@dataclass
class Engine:
    """Pelican after its context phase: the generators, the context they share, and the Jinja environment pages use."""

    pelican: Any
    generators: list[Any]
    context: dict[str, Any]

    @property
    def env(self) -> Environment:
        """The theme's environment (the pages plugin's; every generator's is set up the same way)."""
        env: Environment = self.generators[0].env
        return env

    def generator(self, kind: type[G]) -> G:
        for generator in self.generators:
            if isinstance(generator, kind):
                return generator
        raise LookupError(f"no {kind.__name__} among the registered plugins' generators")

    def page_specs(self) -> Iterator[PageSpec]:
        """Every page the plugins offer: each generator with a `page_specs()` method adds its own.

        A spec holds only the page's URL, template and own values: what the page
        shows is found while it renders (generator/reads.py), for every plugin alike.
        """
        for generator in self.generators:
            specs = getattr(generator, "page_specs", None)
            if specs is not None:
                yield from specs()


def _generator_classes(pelican: Any) -> Iterable[type]:
    from pelican import signals

    for _receiver, value in signals.get_generators.send(pelican):
        yield from value if isinstance(value, (list, tuple)) else (value,)


def start(
    site: Site,
    views: SiteViews,
    assets: Assets,
    output: Path,
    now: dt.datetime,
    code_signature: str,
    bytecode: BytecodeCache | None = None,
) -> Engine:
    """Pelican up to its output phase, with the build's views, moment and code signature in the shared context."""
    from pelican import Pelican, signals
    from pelican.log import console

    quiet, console.quiet = console.quiet, True
    logging.getLogger("pelican").setLevel(logging.WARNING)
    try:
        settings = settings_for(site, assets, output, bytecode)
        pelican = Pelican(settings)
        context = {
            **settings,
            "generated_content": {},
            "static_links": set(),
            "static_content": {},
            "localsiteurl": settings["SITEURL"],
            "views": views,
            "now": now,
            "code_signature": code_signature,
        }
        generators = [
            cls(context=context, settings=pelican.settings, path=pelican.path, theme=pelican.theme, output_path=pelican.output_path)
            for cls in _generator_classes(pelican)
        ]
        for generator in generators:
            generator.env.__class__ = ConsultEnvironment  # Pelican makes a plain Environment; ours only makes lookups cheaper
            generator.generate_context()
        signals.all_generators_finalized.send(generators)
    finally:
        console.quiet = quiet
    return Engine(pelican, generators, context)


def finish(engine: Engine) -> None:
    """Pelican's `finalized` signal, for any other plugin that acts once the whole site is written."""
    from pelican import signals

    signals.finalized.send(engine.pelican)
