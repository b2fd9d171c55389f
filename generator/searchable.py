"""A page cut down to what Pagefind reads of it, for a search part's scratch copy.

Every indexed page marks what is searchable with `data-pagefind-body`, so
Pagefind indexes only those elements and the page's `<head>` (its language and
title); the header, navigation and footer around them, two thirds of an idea's
page, are parsed and thrown away. A part's scratch folder (`generator.pagefind`)
therefore gets each page with everything between `<body>` and `</body>` cut
but the marked elements: at 10,000 ideas, Pagefind took 0.31-0.36 s over a
part of 500 cut pages against 0.43-0.48 s over the whole pages, and the part it
made was the same, byte for byte.

Pagefind also looks outside the marked elements for a few things: an `<h1>`
(a page's default title), an `<img>` (its default image), and filters,
metadata and sort keys (`data-pagefind-filter` and the like). A page with one of
those in what would be cut is copied whole, and so is any page this cannot
read with certainty: no `<body>`, a mark not on an element's tag, an element
whose end cannot be found, or a marked element holding a comment, script,
style, template or text area (whose text could look like a tag).
"""

from __future__ import annotations

import re

BODY_MARK = b"data-pagefind-body"

LOOKED_AT_ELSEWHERE = (b"data-pagefind-meta", b"data-pagefind-default-meta", b"data-pagefind-filter", b"data-pagefind-sort", b"<h1", b"<img")
"""What Pagefind may read outside the marked elements (case-insensitive): a page with one of these where it would be cut is kept whole.
(`data-pagefind-ignore`, `-weight` and `-index-attrs` only change what is indexed, which is inside them.)"""

RAW_TEXT = (b"<!--", b"<script", b"<style", b"<template", b"<textarea", b"<![cdata[")
"""Inside a marked element, text that is not markup: a page holding one there is kept whole (case-insensitive)."""

VOID = frozenset(b"area base br col embed hr img input link meta source track wbr".split())
"""Elements without an end: never a marked element's."""

_SPACE = frozenset((b" ", b"\t", b"\n", b"\r", b"\f"))
_NAME_END = _SPACE | {b"=", b">", b"/"}
_VALUE_END = _SPACE | {b">"}
_TAG_NAME = re.compile(rb"<([a-zA-Z][a-zA-Z0-9-]*)")
_BODY_TAG = re.compile(rb"<body[\s>/]", re.IGNORECASE)


def _tag(page: bytes, start: int) -> tuple[bytes, set[bytes], int] | None:
    """The tag opening at `start`: its name (lower case), its attributes' names, and where it ends (after its `>`)."""
    match = _TAG_NAME.match(page, start)
    if match is None:
        return None
    names: set[bytes] = set()
    at, size = match.end(), len(page)
    while at < size:
        char = page[at : at + 1]
        if char in _SPACE or char == b"/":
            at += 1
        elif char == b">":
            return match.group(1).lower(), names, at + 1
        else:
            name_end = at
            while name_end < size and page[name_end : name_end + 1] not in _NAME_END:
                name_end += 1
            names.add(page[at:name_end].lower())
            at = name_end
            while at < size and page[at : at + 1] in _SPACE:
                at += 1
            if page[at : at + 1] != b"=":
                continue
            at += 1
            while at < size and page[at : at + 1] in _SPACE:
                at += 1
            quote = page[at : at + 1]
            if quote in (b'"', b"'"):
                close = page.find(quote, at + 1)
                if close == -1:
                    return None
                at = close + 1
            else:
                while at < size and page[at : at + 1] not in _VALUE_END:
                    at += 1
    return None


def _element_end(page: bytes, name: bytes, inside: int) -> int | None:
    """Where the element named `name` whose content starts at `inside` ends (after its end tag), counting the same elements nested in it."""
    depth = 1
    for match in re.compile(rb"<(/?)" + re.escape(name) + rb"[\s>/]", re.IGNORECASE).finditer(page, inside):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            close = page.find(b">", match.start())
            return None if close == -1 else close + 1
    return None


def searchable(page: bytes) -> bytes:
    """The page with only its `<head>` and its `data-pagefind-body` elements inside `<body>`; the page as it is when that might change what Pagefind finds."""
    lowered = page.lower()
    body = _BODY_TAG.search(page)
    if body is None or BODY_MARK not in lowered:
        return page
    opened = _tag(page, body.start())
    if opened is None:
        return page
    body_start, body_end = opened[2], lowered.rfind(b"</body")
    if body_end < body_start:
        return page
    regions: list[tuple[int, int]] = []
    position = body_start
    while (mark := lowered.find(BODY_MARK, position, body_end)) != -1:
        start = page.rfind(b"<", position, mark)
        if start == -1 or page.count(b'"', start, mark) % 2 or page.count(b"'", start, mark) % 2:
            return page  # the "<" found may be inside a quoted value rather than start the tag
        tag = _tag(page, start)
        if tag is None or BODY_MARK not in tag[1] or tag[2] <= mark or tag[0] in VOID:
            return page  # the mark is text, or a value, or on an element without content
        end = _element_end(page, tag[0], tag[2])
        if end is None or end > body_end:
            return page
        regions.append((start, end))
        position = end
    if not regions:
        return page
    gaps = zip([body_start] + [end for _, end in regions], [start for start, _ in regions] + [body_end], strict=True)
    if any(lowered.find(seen, start, end) != -1 for start, end in gaps for seen in LOOKED_AT_ELSEWHERE):
        return page
    if any(lowered.find(raw, start, end) != -1 for start, end in regions for raw in RAW_TEXT):
        return page
    return page[:body_start] + b"\n".join(page[start:end] for start, end in regions) + page[body_end:]
