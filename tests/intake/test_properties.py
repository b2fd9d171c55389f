"""Property tests: any text in → the same (normalised) text back out of the file; slugs always safe."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from generator import frontmatter
from generator.schema import SLUG_PATTERN, slugify
from intake.forms import clean_text
from intake.proposals import unique_slug

ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)


@settings(deadline=None)
@given(ANY_TEXT)
def test_slug_is_always_a_safe_file_name(text: str) -> None:
    slug = slugify(text)
    assert re.fullmatch(SLUG_PATTERN, slug) and len(slug) <= 60
    assert "/" not in slug and ".." not in slug


@settings(deadline=None)
@given(ANY_TEXT, st.sets(st.from_regex(SLUG_PATTERN, fullmatch=True), max_size=5))
def test_unique_slug_avoids_what_is_taken(title: str, taken: set[str]) -> None:
    taken = taken | {slugify(title)}
    slug = unique_slug(title, "TH-7QK2M", taken)
    assert re.fullmatch(SLUG_PATTERN, slug) and len(slug) <= 60 and slug not in taken


@settings(deadline=None)
@given(ANY_TEXT)
def test_cleaning_is_idempotent(text: str) -> None:
    for multiline in (True, False):
        once = clean_text(text, multiline)
        assert clean_text(once, multiline) == once


@settings(max_examples=300, deadline=None)
@given(title=ANY_TEXT, name=ANY_TEXT, body=ANY_TEXT)
def test_front_matter_round_trip(title: str, name: str, body: str) -> None:
    """Whatever someone types, the file gives back exactly the cleaned text, and no extra keys."""
    title, name, body = clean_text(title, False), clean_text(name, False), clean_text(body, True)
    data = {"title": title, "challenge": "getting-the-basics-right", "submitted": dt.date(2026, 11, 25), "reference": "TH-7QK2M", "attribution": name}
    doc = frontmatter.parse(frontmatter.dump(data, body))
    assert doc.data == data
    assert doc.body == (body + "\n" if body else "\n")


YAML_PIECES = [
    "---",
    "...",
    "- ",
    ": ",
    "&a ",
    "*a",
    "!!python/object:os.system",
    "<<: ",
    "|",
    ">",
    "'",
    '"',
    "#",
    "%YAML",
    "\n",
    "\r",
    "\t",
    " ",
    "\u2028",
    "\x85",
    "\ufeff",
    "\u202e",
    "null",
    "~",
    "yes",
    "0x1F",
    "1e3",
    "2026-11-25",
]


@settings(deadline=None)
@given(st.lists(st.sampled_from(YAML_PIECES), max_size=40).map("".join))
def test_yaml_tricks_round_trip(text: str) -> None:
    title, body = clean_text(text, False), clean_text(text, True)
    doc = frontmatter.parse(frontmatter.dump({"title": title}, body))
    assert doc.data == {"title": title}
    assert doc.body.rstrip("\n") == body
