"""Macros filled into their markup (`theme.stamped`) give exactly what the macros themselves write."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from generator.assets import collect
from generator.config import SiteConfig
from generator.theme import _STAMPS, environment, stamped

ENV = environment(SiteConfig(), collect())
MACROS: Any = ENV.get_template("macros.html").module

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
maybe = st.one_of(st.none(), text)
AWKWARD = ["Fish & chips <b>", "/ideas/a?b=1&c=2", "{braces} {0}", "/x/{y}/", ' "quoted" ', "two\nlines", "", "consultslottitle", "ConsultSlotHref"]


@settings(max_examples=300, deadline=None)
@given(title=text, href=text, level=st.sampled_from([2, 3, 4]), size=st.sampled_from(["s", "m"]), body=text)
def test_card_equals_the_macro(title: str, href: str, level: int, size: str, body: str) -> None:
    markup = Markup(body)
    fixed = {"heading_level": level, "heading_size": size}
    assert stamped(ENV, "macros.html", "link_card_markup", fixed, title=title, href=href, body=markup) == MACROS.link_card_markup(
        title, href, level, size, markup
    )


def test_card_with_awkward_values() -> None:
    body = Markup("<p>{body} &amp; more</p>")
    for title in AWKWARD:
        for href in AWKWARD:
            expected = MACROS.link_card_markup(title, href, 3, "s", body)
            assert (
                stamped(ENV, "macros.html", "link_card_markup", {"heading_level": 3, "heading_size": "s"}, title=title, href=href, body=body)
                == expected
            )


@settings(max_examples=300, deadline=None)
@given(previous_href=maybe, previous_label=maybe, next_href=maybe, next_label=maybe)
def test_pagination_equals_the_macro(previous_href: str | None, previous_label: str | None, next_href: str | None, next_label: str | None) -> None:
    values = {"previous_href": previous_href, "previous_label": previous_label, "next_href": next_href, "next_label": next_label}
    assert stamped(ENV, "macros.html", "pager_markup", {}, **values) == MACROS.pager_markup(**values)


@settings(max_examples=300, deadline=None)
@given(key=text, value=st.one_of(text, text.map(Markup), st.none()))
def test_summary_row_equals_the_macro(key: str, value: str | Markup | None) -> None:
    assert stamped(ENV, "macros.html", "summary_row", {}, key=key, value=value) == MACROS.summary_row(key, value)


@settings(max_examples=200, deadline=None)
@given(body=text)
def test_summary_list_equals_the_macro(body: str) -> None:
    assert stamped(ENV, "macros.html", "summary_list_markup", {}, body=Markup(body)) == MACROS.summary_list_markup(Markup(body))


def test_awkward_values_go_through_the_macro() -> None:
    for label in AWKWARD:
        values = {"previous_href": "/ideas/", "previous_label": label, "next_href": label or None, "next_label": "Page 3 of 3"}
        assert stamped(ENV, "macros.html", "pager_markup", {}, **values) == MACROS.pager_markup(**values)
        assert stamped(ENV, "macros.html", "summary_row", {}, key=label, value=Markup(f"<b>{label}</b>")) == MACROS.summary_row(
            label, Markup(f"<b>{label}</b>")
        )


def test_the_site_s_macros_are_stamped() -> None:
    """Each macro the templates stamp comes out with its placeholders intact, so no call falls back to the macro."""
    env = environment(SiteConfig(), collect())
    stamped(env, "macros.html", "link_card_markup", {"heading_level": 2, "heading_size": "m"}, title="A", href="/a/", body=Markup("<p>b</p>"))
    stamped(
        env, "macros.html", "pager_markup", {}, previous_href="/ideas/", previous_label="Page 1 of 3", next_href="/p/3/", next_label="Page 3 of 3"
    )
    stamped(env, "macros.html", "pager_markup", {}, previous_href=None, previous_label=None, next_href="/p/2/", next_label="Page 2 of 3")
    stamped(env, "macros.html", "summary_row", {}, key="Role", value="Nurse")
    stamped(env, "macros.html", "summary_row", {}, key="Date", value=Markup("<time>1 May</time>"))
    stamped(env, "macros.html", "summary_list_markup", {}, body=Markup("<div>rows</div>"))
    stamps = _STAMPS[env]
    assert len(stamps) == 6
    assert all(stamp is not None for stamp in stamps.values())


def test_a_macro_that_changes_a_value_is_not_stamped() -> None:
    """A macro that shows a value other than as given (here upper-cased) is called every time, and gives its own markup."""
    env = environment(SiteConfig(), collect())
    env.loader = None  # templates from strings only
    template = env.from_string("{% macro shout(word, tail) %}<b>{{ word | upper }}</b>{{ tail }}{% endmacro %}")
    env.get_template = lambda name, *args, **kwargs: template  # type: ignore[method-assign]
    assert stamped(env, "shout.html", "shout", {}, word="quiet", tail="!") == "<b>QUIET</b>!"
    assert stamped(env, "shout.html", "shout", {}, word="calm", tail="?") == "<b>CALM</b>?"
    assert list(_STAMPS[env].values()) == [None]
