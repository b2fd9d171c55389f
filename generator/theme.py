"""The theme's Jinja set-up, shared by the static build and the intake's pages.

Both render the same templates (theme/templates plus the nhsuk-frontend-jinja
macros) with the same globals, so an error page from the intake looks and
behaves exactly like a page of the static site.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jinja2 import ChainableUndefined, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, pass_environment, select_autoescape
from jinja2.runtime import Context
from jinja2.utils import missing
from markupsafe import Markup, escape

from . import reads
from .assets import Assets
from .config import SiteConfig
from .markdown import render as render_markdown
from .paths import TEMPLATES_DIR
from .reads import IDENTIFIED
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


class ReadingContext(Context):
    """A template context that reports the names a page reads from its own context to the active `reads.Recorder`."""

    def resolve_or_missing(self, key: str) -> Any:
        if key in self.vars:  # set by the template itself
            return self.vars[key]
        parent = self.parent
        value = parent.get(key, missing)
        recorder = reads.ACTIVE.recorder
        if recorder is not None and "page_url" in parent:  # a page's context, not a macro's or fragment's
            recorder.root(key, value)
        return value


class ConsultEnvironment(Environment):
    """Jinja's Environment with lookups made cheaper, and reported while a page's reads are recorded (see generator/reads.py).

    Same results as Jinja's own: the macros read `params.x` on plain dicts
    hundreds of times a page, and Jinja first tries (and fails) an attribute
    lookup each time; and each `{% from … import %}` compares the caller's
    globals with a ChainMap's keys. Jinja asks that globals are not changed
    once a template is loaded, so a template's globals can be a flat dict.
    """

    context_class = ReadingContext

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        value = Environment.getattr(self, obj, attribute)
        recorder = reads.ACTIVE.recorder
        if recorder is not None:
            if type(obj) in IDENTIFIED:
                recorder.attribute(obj, attribute, value)
            elif (identity := reads.model_identity(obj)) is not None:
                recorder.model_attribute(obj, identity, attribute, value)
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = Environment.getitem(self, obj, argument)
        if type(obj) in IDENTIFIED:
            recorder = reads.ACTIVE.recorder
            if recorder is not None:
                recorder.item(obj, reads.item_access(argument) or reads.UNREPLAYABLE, value)
        return value

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


@dataclass(frozen=True)
class SiteLink:
    """`url(path)` in templates: a root-relative link that also works when the site lives under a sub-path."""

    prefix: str

    def __call__(self, path: str = "/") -> str:
        return f"{self.prefix}{path}" if path.startswith("/") else path


@dataclass(frozen=True)
class AssetLink:
    """`asset(name)` in templates: the link to an asset's content-hashed file."""

    prefix: str
    files: Mapping[str, str]

    def __call__(self, name: str) -> str:
        return f"{self.prefix}/{self.files[name]}"


def template_globals(config: SiteConfig, assets: Assets) -> dict[str, Any]:
    """The templates' globals. Values, not closures, so `reads.globals_signature` sees everything they depend on."""
    prefix = base_path(config.base_url)
    url = SiteLink(prefix)
    intake = config.intake_url.rstrip("/")
    return {
        "fragment": fragment,
        "memo": memo,
        "stamped": stamped,
        "site": config,
        "url": url,
        "asset": AssetLink(prefix, dict(assets.files)),
        "intake_url": url(intake) if intake.startswith("/") else intake,
        "status_labels": {s.value: label for s, label in IDEA_STATUS_LABELS.items()},
        "status_colours": {s.value: c for s, c in STATUS_TAG_COLOURS.items()},
        "statuses": [s.value for s in IdeaStatus],
    }


_REUSED: weakref.WeakKeyDictionary[Environment, dict[reads.PieceKey, tuple[Markup, int | None]]] = weakref.WeakKeyDictionary()
"""Per environment (one per build): the markup of each fragment or memoised macro call, with its piece number if its reads were recorded."""


def _reused(env: Environment, key: reads.PieceKey, render: Callable[[], Any]) -> Markup:
    """The markup `render()` gives, rendered once per environment and key; its reads count on every page that uses it (as one piece)."""
    cache = _REUSED.setdefault(env, {})
    recorder = reads.ACTIVE.recorder
    hit = cache.get(key)
    if hit is None or (recorder is not None and hit[1] is None):
        if recorder is None:
            hit = cache[key] = (Markup(render()), None)
        else:
            with recorder.piece(key):
                markup = Markup(render())
            hit = cache[key] = (markup, recorder.pieces.get(key))
    elif recorder is not None and hit[1] is not None:
        recorder.include(hit[1])
    return hit[0]


_TOKENS: weakref.WeakKeyDictionary[Environment, dict[int, tuple[Any, reads.Token]]] = weakref.WeakKeyDictionary()
"""Per environment: the token of each value a fragment was called with, by identity (every page passes the same lists)."""


def _token(env: Environment, value: Any) -> reads.Token:
    tokens = _TOKENS.setdefault(env, {})
    known = tokens.get(id(value))
    if known is None or known[0] is not value:
        known = tokens[id(value)] = (value, reads.token(value))
    return known[1]


def forget(env: Environment) -> None:
    """Drop what `fragment` and `memo` keep for env (before rendering with changed views, or recording, in the same environment)."""
    _REUSED.pop(env, None)
    _TOKENS.pop(env, None)


@pass_environment
def fragment(env: Environment, name: str, **values: Any) -> Markup:
    """Render `fragments/<name>.html` with values once per build, then reuse it.

    For the parts every page repeats (header, footer, empty forms): the same
    markup, rendered once per build instead of once per page. The key is the
    values themselves (views by identity: within a build a view does not change).
    """
    key = ("fragment", name, *(part for item in sorted(values.items()) for part in (item[0], _token(env, item[1]))))
    return _reused(env, key, lambda: env.get_template(f"fragments/{name}.html").render(**values))


@pass_environment
def memo(env: Environment, template: str, macro: str, *args: Any) -> Markup:
    """Call `macro` of `template` with args once per build, then reuse its markup.

    For markup repeated across many pages, such as an idea's card on every
    listing it appears in. Keyed by the arguments (views by identity), so
    nothing has to list what the macro shows.
    """
    key = ("memo", template, macro, *(reads.token(arg) for arg in args))
    return _reused(env, key, lambda: getattr(env.get_template(template).module, macro)(*args))


_STAMPS: weakref.WeakKeyDictionary[Environment, dict[tuple[Any, ...], str | None]] = weakref.WeakKeyDictionary()
"""Per environment: each stamped macro's markup with `{name}` where a slot's value goes (None: the macro cannot be stamped)."""
_SLOT = "consultslot"


def _slot_kind(value: str | Markup) -> str | None:
    """How a value fills a slot: "text" (plain one-line text, escaped), "line" (one line of markup) or "markup"; None if it cannot.

    A value must not be empty (a macro may leave out an empty value and what goes with it, where it shows a placeholder),
    nor hold a placeholder; text must have no stray spaces (its placeholder has none, so a macro's `trim` cannot be seen).
    """
    if (type(value) is not str and not isinstance(value, Markup)) or not value or _SLOT in value.lower():
        return None
    one_line = value.splitlines() == [value] and value == value.strip()
    if isinstance(value, Markup):
        return "line" if one_line else "markup"
    return "text" if one_line else None


def _placeholder(name: str, kind: str) -> str:
    """A slot's placeholder. Markup's has lines and spaces around it, so a macro that trims or indents it changes it."""
    return f"\n {_SLOT}{name} \n" if kind == "markup" else f"{_SLOT}{name}"


def _stamp(macro: Callable[..., Any], fixed: Mapping[str, Any], kinds: Mapping[str, str]) -> str | None:
    """The macro's markup with `{name}` for each slot, as a format string; None if a placeholder does not come out as it went in."""
    placeholders = {name: _placeholder(name, kind) for name, kind in kinds.items()}
    markup = str(macro(**fixed, **{name: p if kinds[name] == "text" else Markup(p) for name, p in placeholders.items()}))
    stamp = markup.replace("{", "{{").replace("}", "}}")
    for name, placeholder in placeholders.items():
        if placeholder not in stamp:  # left out, or changed (a filter, a truncation): only the macro knows what it shows
            return None
        stamp = stamp.replace(placeholder, "{" + name + "}")
    return None if _SLOT in stamp.lower() else stamp  # a placeholder shown changed as well as unchanged


@pass_environment
def stamped(env: Environment, template: str, macro: str, fixed: Mapping[str, Any], **slots: str | Markup | None) -> Markup:
    """`macro` of `template` called with `fixed` and `slots` as keyword arguments, from its markup rendered once per shape.

    Some nhsuk-frontend-jinja macros cost half a millisecond or more a call
    (the card, the pagination, the summary list), and the site calls them tens
    of thousands of times with markup that differs only in text or markup
    passed through it. So the macro is rendered once per build for each
    `fixed` (hashable values, such as a heading level), each set of slots
    left out (None) and each kind of value (`_slot_kind`), with a placeholder
    in each slot, and the values are filled in (text escaped, as Jinja would).
    A value that cannot fill a slot goes through the macro, and so does every
    call of a macro whose placeholders do not come out as they went in.
    `tests/test_stamped.py` checks each stamped macro against itself.
    """
    call = getattr(env.get_template(template).module, macro)  # a template's exported macros, as attributes
    absent = {name: None for name, value in slots.items() if value is None}
    given = {name: value for name, value in slots.items() if value is not None}
    kinds: dict[str, str] = {}
    for name, value in given.items():
        kind = _slot_kind(value)
        if kind is None:
            return Markup(call(**fixed, **slots))
        kinds[name] = kind
    key = (template, macro, *sorted(fixed.items()), *sorted(absent), *sorted(kinds.items()))
    stamps = _STAMPS.setdefault(env, {})
    if key not in stamps:
        stamps[key] = _stamp(call, {**fixed, **absent}, kinds)
    stamp = stamps[key]
    if stamp is None:
        return Markup(call(**fixed, **slots))
    return Markup(stamp.format(**{name: escape(value) if kinds[name] == "text" else value for name, value in given.items()}))


FILTERS = {"long_date": long_date, "event_time": event_time, "markdown": render_markdown}


def configure(env: Environment, config: SiteConfig, assets: Assets) -> Environment:
    env.globals.update(template_globals(config, assets))
    env.filters.update(FILTERS)
    return env


def environment(config: SiteConfig, assets: Assets) -> Environment:
    """A standalone environment for rendering theme pages outside Pelican (the intake)."""
    env = Environment(loader=loader(), **JINJA_OPTIONS)
    return configure(env, config, assets)
