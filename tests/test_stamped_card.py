"""Cards filled into the NHS.UK card macro's markup are exactly what the macro itself writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from generator.assets import collect
from generator.config import SiteConfig
from generator.theme import environment, stamped_card

ENV = environment(SiteConfig(), collect())
MACRO = ENV.get_template("macros.html").module.link_card_markup

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(title=text, href=text, level=st.sampled_from([2, 3, 4]), size=st.sampled_from(["s", "m"]), body=text)
def test_stamped_card_equals_the_macro(title: str, href: str, level: int, size: str, body: str) -> None:
    markup = Markup(body)
    assert stamped_card(ENV, title, href, level, size, markup) == MACRO(title, href, level, size, markup)


def test_awkward_values() -> None:
    for title, href in [("Fish & chips <b>", "/ideas/a?b=1&c=2"), ("{braces} {0}", "/x/{y}/"), (' "quoted" ', "/q/"), ("two\nlines", "/l/"), ("consultslottitle", "/s/")]:
        body = Markup("<p>{body} &amp; more</p>")
        assert stamped_card(ENV, title, href, 3, "s", body) == MACRO(title, href, 3, "s", body)
