"""A search part's scratch pages are cut to what Pagefind reads of them, and Pagefind makes the same index from them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from generator.pagefind import _copy_tree, _read_tree, executable, stabilise
from generator.searchable import searchable

HEAD = b'<!DOCTYPE html>\n<html lang="en-GB">\n<head><title>An idea</title><meta name="description" content="x"></head>\n'


def page(inside_body: bytes) -> bytes:
    return HEAD + b'<body class="js">\n' + inside_body + b"\n</body>\n</html>\n"


HEADER = b'<header><nav><a href="/">Home</a><ul><li>Challenges</li></ul></nav></header>\n'
FOOTER = b'<footer><p>Footer text</p></footer>\n<script src="/app.js"></script>'


def cut_to(*regions: bytes) -> bytes:
    """What `searchable` gives for a `page` whose marked elements are regions."""
    return HEAD + b'<body class="js">' + b"\n".join(regions) + b"</body>\n</html>\n"


def test_a_page_keeps_its_head_and_its_marked_element_only() -> None:
    article = b"<article data-pagefind-body>\n<h1>Title</h1><p data-pagefind-ignore>Meta</p><div><div>Text</div></div>\n</article>"
    original = page(HEADER + b'<main><div class="row">' + article + b"<section>Comments</section></div></main>\n" + FOOTER)
    assert searchable(original) == cut_to(article)


def test_nested_elements_of_the_same_name_stay_inside_the_marked_one() -> None:
    marked = b'<div class="col" data-pagefind-body><div><DIV>a</DIV>b</div>c<div-like>d</div-like></div>'
    original = page(HEADER + b"<div>" + marked + b"<div>after</div></div>" + FOOTER)
    assert searchable(original) == cut_to(marked)


def test_several_marked_elements_are_all_kept() -> None:
    first, second = b"<section data-pagefind-body>One</section>", b'<p data-pagefind-body="">Two</p>'
    original = page(HEADER + first + b"<aside>cut</aside>" + second + FOOTER)
    assert searchable(original) == cut_to(first, second)


def test_what_pagefind_ignores_anyway_may_be_cut() -> None:
    original = page(b"<article data-pagefind-body>Text</article><p data-pagefind-ignore>Comment by someone</p>" + FOOTER)
    assert b"Comment by someone" not in searchable(original)


@pytest.mark.parametrize(
    "inside_body",
    [
        pytest.param(b"<h1>Title</h1><article data-pagefind-body>Text</article>", id="h1 outside: Pagefind's default title"),
        pytest.param(b'<img src="a.png" alt="A"><article data-pagefind-body>Text</article>', id="img outside: its default image"),
        pytest.param(b'<article data-pagefind-body>Text</article><span data-pagefind-filter="type:Idea"></span>', id="filter outside"),
        pytest.param(b'<span data-pagefind-meta="date:2026"></span><article data-pagefind-body>Text</article>', id="metadata outside"),
        pytest.param(b'<span data-pagefind-sort="date:2026"></span><article data-pagefind-body>Text</article>', id="sort key outside"),
        pytest.param(b"<p>Write data-pagefind-body on an element</p>", id="the mark as text"),
        pytest.param(b'<p title="data-pagefind-body">x</p><article data-pagefind-body>Text</article>', id="the mark in a value"),
        pytest.param(b"<article data-pagefind-body>Text<article>never closed</article>", id="no end"),
        pytest.param(b"<article data-pagefind-body>Text <!-- <article> --></article>", id="a comment inside"),
        pytest.param(b'<article data-pagefind-body>Text <script>"</article>"</script></article>', id="a script inside"),
        pytest.param(b"<article data-pagefind-body>Text <textarea></article></textarea></article>", id="a text area inside"),
        pytest.param(b"<input data-pagefind-body><p>Text</p>", id="on an element without content"),
    ],
)
def test_a_page_that_might_be_read_otherwise_is_kept_whole(inside_body: bytes) -> None:
    original = page(HEADER + inside_body + FOOTER)
    assert searchable(original) == original


@pytest.mark.parametrize(
    "original",
    [
        pytest.param(b"<html><head></head><p data-pagefind-body>No body tag</p></html>", id="no body"),
        pytest.param(HEAD + b"<body><article data-pagefind-body>Text</article>", id="no end of body"),
        pytest.param(page(b"<article>Nothing marked</article>"), id="nothing marked"),
        pytest.param(page(b'<article data-pagefind-body title="a>b>c">Text</article><nav>cut</nav>')[:-40], id="cut short"),
    ],
)
def test_a_page_that_cannot_be_read_with_certainty_is_kept_whole(original: bytes) -> None:
    assert searchable(original) == original


@pytest.mark.parametrize(
    "marked",
    [
        b"<p data-pagefind-body hidden>Text</p>",
        b"<div class=x data-pagefind-body>Text</div>",
        b"<div\n  class='a'\tdata-pagefind-body\n>Text</div>",
        b'<article DATA-PAGEFIND-BODY="">Text</ARTICLE>',
    ],
)
def test_attributes_are_read_as_html_writes_them(marked: bytes) -> None:
    assert searchable(page(HEADER + marked + FOOTER)) == cut_to(marked)


def test_an_angle_bracket_inside_a_quoted_value_is_not_taken_for_a_tag() -> None:
    original = page(HEADER + b'<article title="a<b" data-pagefind-body>Text</article><b>cut</b>' + FOOTER)
    assert searchable(original) == original  # which "<" starts the tag is not certain: kept whole


def test_a_quoted_angle_bracket_does_not_end_a_tag() -> None:
    article = b'<article title="a > b" data-pagefind-body>Text</article>'
    assert searchable(page(HEADER + article + FOOTER)) == cut_to(article)


def _pagefind(source: Path, bundle: Path) -> dict[str, bytes]:
    subprocess.run([str(executable()), "--site", str(source), "--output-path", str(bundle), "--silent"], check=True)
    return stabilise(_read_tree(bundle))


def test_pagefind_makes_the_same_index_from_the_cut_pages(site_dir: Path, tmp_path: Path) -> None:
    indexed = sorted(
        path.relative_to(site_dir).as_posix()
        for path in site_dir.rglob("*.html")
        if not path.relative_to(site_dir).as_posix().startswith("pagefind/") and b"data-pagefind-body" in path.read_bytes()
    )
    ideas = [rel for rel in indexed if rel.startswith("ideas/")]
    assert len(ideas) >= 10
    cut = [rel for rel in indexed if searchable((site_dir / rel).read_bytes()) != (site_dir / rel).read_bytes()]
    assert set(ideas) <= set(cut)  # every idea's page is cut: a template change that stops it fails here, not only in the timings
    whole = tmp_path / "whole"
    for rel in indexed:
        (whole / rel).parent.mkdir(parents=True, exist_ok=True)
        (whole / rel).write_bytes((site_dir / rel).read_bytes())
    _copy_tree(site_dir, tmp_path / "cut", indexed)
    assert _pagefind(tmp_path / "cut", tmp_path / "cut-bundle") == _pagefind(whole, tmp_path / "whole-bundle")
