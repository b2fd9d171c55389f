"""The theme's Jinja set-up, shared by the static build and the intake's pages.

Both render the same templates (theme/templates plus the nhsuk-frontend-jinja
macros) with the same globals, so an error page from the intake looks and
behaves exactly like a page of the static site.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

from jinja2 import ChainableUndefined, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, pass_environment, select_autoescape
from markupsafe import Markup, escape

from .assets import Assets
from .clock import system_clock
from .config import SiteConfig
from .markdown import render as render_markdown
from .paths import TEMPLATES_DIR
from .schema import IDEA_STATUS_LABELS, IdeaStatus

STATUS_TAG_COLOURS = {
    IdeaStatus.WAITING: "blue",
    IdeaStatus.UNDER_CONSIDERATION: "yellow",
    IdeaStatus.RESPONDED: "purple",
    IdeaStatus.ADOPTED: "green",
    IdeaStatus.NOT_TAKEN_FORWARD: "grey",
}

JINJA_OPTIONS: dict[str, Any] = {
    "autoescape": select_autoescape(default=True, default_for_string=True),
    "trim_blocks": True,
    "lstrip_blocks": True,
    "extensions": ["jinja2.ext.do"],
    # nhsuk-frontend-jinja reads optional nested params (params.search.action): chainable.
    "undefined": ChainableUndefined,
}


_DICT_ATTRIBUTES = frozenset(dir(dict))


class ConsultEnvironment(Environment):
    """Jinja's Environment with two lookups made cheaper for the NHS.UK macros' heavy use of them.

    Same results as Jinja's own: the macros read `params.x` on plain dicts
    hundreds of times a page, and Jinja first tries (and fails) an attribute
    lookup each time; and each `{% from … import %}` compares the caller's
    globals with a ChainMap's keys. Jinja asks that globals are not changed
    once a template is loaded, so a template's globals can be a flat dict.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def loader() -> ChoiceLoader:
    return ChoiceLoader([FileSystemLoader(str(TEMPLATES_DIR)), PackageLoader("nhsuk_frontend_jinja", "templates")])


def base_path(base_url: str) -> str:
    """The path part of the site's address, '' at a domain's root, '/consult' under a sub-path."""
    return urlsplit(base_url).path.rstrip("/")


def long_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y}"


def event_time(value: dt.datetime) -> str:
    return f"{value.day} {value:%B %Y}, {value:%-I:%M%p}".replace("AM", "am").replace("PM", "pm")


def template_globals(config: SiteConfig, assets: Assets, build_date: dt.date) -> dict[str, Any]:
    prefix = base_path(config.base_url)

    def url(path: str = "/") -> str:
        """A root-relative link that also works when the site lives under a sub-path."""
        return f"{prefix}{path}" if path.startswith("/") else path

    def asset(name: str) -> str:
        return f"{prefix}/{assets.files[name]}"

    intake = config.intake_url.rstrip("/")
    return {
        "fragment": fragment,
        "memo": memo,
        "freeze": freeze,
        "stamped_card": stamped_card,
        "site": config,
        "url": url,
        "asset": asset,
        "intake_url": url(intake) if intake.startswith("/") else intake,
        "build_date": build_date,
        "status_labels": {s.value: label for s, label in IDEA_STATUS_LABELS.items()},
        "status_colours": {s.value: c for s, c in STATUS_TAG_COLOURS.items()},
        "statuses": [s.value for s in IdeaStatus],
    }


_FRAGMENTS: weakref.WeakKeyDictionary[Environment, dict[tuple[Any, ...], Markup]] = weakref.WeakKeyDictionary()


@pass_environment
def fragment(env: Environment, name: str, key: tuple[Any, ...] = (), **values: Any) -> Markup:
    """Render `fragments/<name>.html` once per environment and key, then reuse it.

    For the parts every page repeats (header, footer, empty forms): the same
    markup, rendered once per build instead of once per page.
    """
    cache = _FRAGMENTS.setdefault(env, {})
    cache_key = (name, key)
    if cache_key not in cache:
        cache[cache_key] = Markup(env.get_template(f"fragments/{name}.html").render(**values))
    return cache[cache_key]


_MEMO: weakref.WeakKeyDictionary[Environment, dict[tuple[Any, ...], Markup]] = weakref.WeakKeyDictionary()


@pass_environment
def memo(env: Environment, template: str, macro: str, key: tuple[Any, ...], *args: Any) -> Markup:
    """Call `macro` of `template` once per environment and key, then reuse its markup.

    For markup repeated across many pages, such as an idea's card on every
    listing it appears in. `key` must capture everything the macro shows.
    """
    cache = _MEMO.setdefault(env, {})
    cache_key = (template, macro, key)
    markup = cache.get(cache_key)
    if markup is None:
        markup = cache[cache_key] = Markup(getattr(env.get_template(template).module, macro)(*args))
    return markup


def freeze(value: Any) -> Any:
    """A hashable copy of nested dicts and lists, to key `memo` with a macro's parameters."""
    if isinstance(value, dict):
        return tuple(sorted((key, freeze(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value


_STAMPS: weakref.WeakKeyDictionary[Environment, dict[tuple[Any, ...], str]] = weakref.WeakKeyDictionary()
_SLOTS = {"title": "consultslottitle", "href": "consultslothref", "body": "consultslotbody"}


def _fits_stamp(value: Any) -> bool:
    """Values the card macro passes through unchanged (apart from escaping): plain one-line text, not empty, no stray spaces."""
    return type(value) is str and value.splitlines() == [value] and value == value.strip() and "consultslot" not in value


@pass_environment
def stamped_card(env: Environment, title: str, href: str, heading_level: int, heading_size: str, body: Markup) -> Markup:
    """A linked NHS.UK card, from the card macro rendered once per heading level and size with slots for the rest.

    The nhsuk-frontend-jinja card macro costs about half a millisecond, and a
    site of 10,000 ideas shows tens of thousands of cards. Its markup differs
    between cards only in the escaped title and link and the body passed
    through as it is, so it is rendered once with placeholders and filled in.
    Anything else (a title with a line break, say) goes through the macro.
    """
    macros: Any = env.get_template("macros.html").module  # a template's exported macros, as attributes
    macro = macros.link_card_markup
    if not (_fits_stamp(title) and _fits_stamp(href) and "consultslot" not in body):
        return Markup(macro(title, href, heading_level, heading_size, body))
    stamps = _STAMPS.setdefault(env, {})
    key = (heading_level, heading_size)
    stamp = stamps.get(key)
    if stamp is None:
        rendered = str(macro(_SLOTS["title"], _SLOTS["href"], heading_level, heading_size, Markup(_SLOTS["body"])))
        stamp = rendered.replace("{", "{{").replace("}", "}}")
        for name, slot in _SLOTS.items():
            if stamp.count(slot) != 1:
                raise RuntimeError(f"the card macro no longer shows the {name} exactly once; theme.stamped_card needs updating")
            stamp = stamp.replace(slot, "{" + name + "}")
        stamps[key] = stamp
    return Markup(stamp.format(title=escape(title), href=escape(href), body=body))


FILTERS = {"long_date": long_date, "event_time": event_time, "markdown": render_markdown}


def configure(env: Environment, config: SiteConfig, assets: Assets, build_date: dt.date) -> Environment:
    env.globals.update(template_globals(config, assets, build_date))
    env.filters.update(FILTERS)
    return env


def environment(config: SiteConfig, assets: Assets, build_date: dt.date | None = None) -> Environment:
    """A standalone environment for rendering theme pages outside Pelican (the intake)."""
    env = Environment(loader=loader(), **JINJA_OPTIONS)
    return configure(env, config, assets, build_date or system_clock().today())
