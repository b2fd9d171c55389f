"""Hostile submissions, accepted by an editor and built: no output carries live markup or a third-party resource.

Ideas, comments and a topic carrying script, event handlers, iframes, SVG, `javascript:`
and `data:` links, third-party images and stylesheets go through the real path (form
post → store → local git forge → `review accept` → `consult build`). Then every file
of the built site is read as its readers read it: pages and SVG with an HTML parser,
Atom feeds with feedparser (its sanitiser off, so nothing is cleaned on the way), the
sitemap and calendar as XML and iCalendar, the search index's fragments and the open
data as the data they are.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import icalendar
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from generator.build import build
from generator.cli import main
from generator.loader import load_site
from tests.conftest import BUILD_NOW, PROJECT

from .conftest import IDEA, git, make_repo, running_intake, wait_for

PAYLOADS = [
    "<script>alert('x1')</script>",
    '<img src="https://tracker.example/p.gif" onerror="alert(\'x2\')">',
    '<iframe src="https://evil.example/frame"></iframe>',
    "<svg onload=\"alert('x3')\"><circle r='1'/></svg>",
    "[a link](javascript:alert('x4')) and <a href=\"javascript:alert('x5')\">another</a>",
    "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgneDYnKTwvc2NyaXB0Pg==)",
    "![tracker](https://tracker.example/pixel.png)",
    "</script><script>alert('x7')</script>",
    '<link rel="stylesheet" href="https://evil.example/x.css"><style>@import url(https://evil.example/y.css);</style>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/">',
    '<object data="https://evil.example/o"></object><embed src="https://evil.example/e"><form action="https://evil.example/f"><button>Go</button></form>',
]
BODY = "Hostile text, kept as words: " + " ".join(PAYLOADS)
MARKERS = ("alert(", "evil.example", "tracker.example")
"""Strings only the payloads contain: wherever one is live (in markup, not text), a check fails."""
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", "poster", "srcset", "background", "cite", "xlink:href", "ping")
RESOURCE_TAGS = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "frame": "src",
    "embed": "src",
    "object": "data",
    "source": "src",
    "video": "src",
    "audio": "src",
    "track": "src",
    "input": "src",
}
NEVER = ("iframe", "frame", "object", "embed", "base", "applet")


def hostile_submissions(client) -> list[str]:  # type: ignore[no-untyped-def]
    """Post ideas, comments and a topic carrying every payload; return their references."""
    posts = [
        ("/ideas", {**IDEA, "title": f"Idea {n}: {payload}"[:120], "idea": BODY, "name": payload[:80], "email": "", "notify": ""})
        for n, payload in enumerate(PAYLOADS)
    ]
    posts += [
        ("/comments", {"target": "idea:hot-food-for-staff-working-nights", "comment": BODY, "name": PAYLOADS[1][:80], "consent": "yes"}),
        ("/comments", {"target": "topic:what-would-make-your-night-shift-easier", "comment": BODY, "name": PAYLOADS[0], "consent": "yes"}),
        ("/topics", {"challenge": "getting-the-basics-right", "title": PAYLOADS[3], "post": BODY, "name": PAYLOADS[2][:80], "consent": "yes"}),
    ]
    references = []
    for path, data in posts:
        response = client.post(path, json=data)
        assert response.status_code == 202, response.text
        references.append(response.json()["reference"])
    return references


@pytest.fixture(scope="module")
def hostile_site(site_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The sample site with every hostile submission accepted, built into a folder."""
    base = tmp_path_factory.mktemp("hostile")
    root = make_repo(base / "repo")
    with running_intake(root, site_dir, base / "data") as running:
        with running.client() as client:
            references = hostile_submissions(client)
        for reference in references:
            wait_for(lambda ref=reference: git(root, "branch", "--list", f"submissions/{ref}"), timeout=60)
    for reference in references:
        result = CliRunner().invoke(main, ["--root", str(root), "review", "accept", reference], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    result = build(root, base / "_site", now=BUILD_NOW)
    yield result.output, result.views.site.config.base_url


def same_origin(url: str, base_url: str) -> bool:
    """A relative address, or one on the site's own origin."""
    url = url.strip()
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return True
    return url.startswith(base_url.rstrip("/") + "/") or url == base_url


def live_problems(html: str, base_url: str, where: str) -> list[str]:
    """Executable markup or third-party resources an HTML parser finds in html."""
    problems = []
    page = BeautifulSoup(html, "html.parser")
    for tag in page.find_all(True):
        name = tag.name.lower()
        handlers = [a for a in tag.attrs if a.lower().startswith("on")]
        if handlers:
            problems.append(f"{where}: <{name}> has event handlers {handlers}")
        for attr in URL_ATTRIBUTES:
            value = re.sub(r"[\s\x00-\x1f]", "", str(tag.get(attr, ""))).lower()
            if value.startswith(("javascript:", "vbscript:", "data:")):
                problems.append(f"{where}: <{name} {attr}={tag.get(attr)!r}>")
        if name in NEVER:
            problems.append(f"{where}: a <{name}> element")
        source = RESOURCE_TAGS.get(name)
        if source and tag.get(source) and not same_origin(str(tag[source]), base_url):
            problems.append(f"{where}: <{name}> loads {tag[source]}")
        if (
            name == "link"
            and tag.get("href")
            and not same_origin(str(tag["href"]), base_url)
            and {"stylesheet", "icon", "preload", "prefetch", "modulepreload", "manifest"} & {r.lower() for r in tag.get("rel", [])}
        ):
            problems.append(f"{where}: <link> loads {tag['href']}")
        if name == "meta" and str(tag.get("http-equiv", "")).lower() == "refresh":
            problems.append(f"{where}: a meta refresh")
        if name in ("script", "style") and any(marker in tag.get_text() for marker in MARKERS):
            problems.append(f"{where}: submitted text inside <{name}>")
        if re.search(r"url\(\s*['\"]?\s*(https?:)?//", str(tag.get("style", ""))):
            problems.append(f"{where}: a style attribute loads from another origin")
        if name == "svg" and tag.find_parent("svg") is None and any(marker in str(tag) for marker in MARKERS):
            problems.append(f"{where}: submitted markup inside an <svg>")
    return problems


def test_pages_and_svg_carry_the_words_but_no_live_markup(hostile_site: tuple[Path, str]) -> None:
    output, base_url = hostile_site
    problems, shown = [], 0
    for path in sorted([*output.rglob("*.html"), *output.rglob("*.svg")]):
        text = path.read_text(encoding="utf-8")
        shown += "alert(&#39;x1&#39;)" in text or "alert('x1')" in text
        problems += live_problems(text, base_url, str(path.relative_to(output)))
    assert not problems, "\n".join(problems[:40])
    assert shown >= 3, "the hostile words are on the pages, as text"


def test_feeds_decode_to_text_not_markup(hostile_site: tuple[Path, str]) -> None:
    output, base_url = hostile_site
    feeds = sorted(output.rglob("*.atom.xml"))
    assert feeds
    problems, carried = [], 0
    for path in feeds:
        feed = feedparser.parse(path.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        for entry in feed.entries:
            for key in ("title", "summary", "content"):
                details = entry.get(f"{key}_detail") if key != "content" else (entry.get("content") or [None])[0]
                if not details:
                    continue
                value, kind = details["value"], details["type"]
                carried += "<script>alert('x1')</script>" in value and kind == "text/plain"
                carried += "&lt;script&gt;alert('x1')&lt;/script&gt;" in value and kind == "text/html"
                if kind in ("text/html", "application/xhtml+xml"):
                    problems += live_problems(value, base_url, f"{path.name}: {entry.link}: {key}")
            assert same_origin(entry.link, base_url), entry.link
    assert not problems, "\n".join(problems[:40])
    assert carried, "the hostile words reach the feeds, as text"


def test_sitemap_lists_only_the_sites_own_pages(hostile_site: tuple[Path, str]) -> None:
    output, base_url = hostile_site
    sitemap = ElementTree.fromstring((output / "sitemap.xml").read_bytes())
    locations = [loc.text or "" for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert locations and all(same_origin(loc, base_url) and not urlsplit(loc).query for loc in locations)
    assert not any(marker in (output / "sitemap.xml").read_text(encoding="utf-8") for marker in MARKERS)


def test_calendar_links_only_to_the_site_or_an_editors_booking_link(hostile_site: tuple[Path, str]) -> None:
    """An event's URL is its page, or the joining or booking link an editor wrote in its front matter (never submitted text)."""
    output, base_url = hostile_site
    site, _ = load_site(PROJECT)
    booking = {e.meta.registration for e in site.events.values() if e.meta.registration}
    calendars = sorted(output.rglob("*.ics"))
    assert calendars and booking
    for path in calendars:
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
        for event in calendar.walk("VEVENT"):
            if event.get("URL"):
                assert same_origin(str(event["URL"]), base_url) or str(event["URL"]) in booking, (path, event["URL"])
            assert not any(marker in str(event.get("DESCRIPTION", "")) for marker in MARKERS)


def fragments(output: Path) -> list[dict[str, object]]:
    """The search index's page fragments (gzip, a `pagefind_dcd` signature, then JSON)."""
    found = []
    for path in output.rglob("*.pf_fragment"):
        data = gzip.decompress(path.read_bytes())
        found.append(json.loads(data[data.index(b"{") :]))
    return found


def test_search_excerpts_are_escaped_text(hostile_site: tuple[Path, str]) -> None:
    output, base_url = hostile_site
    found = fragments(output)
    hostile = [f for f in found if "x1" in str(f.get("content", ""))]
    assert hostile, "the hostile ideas are in the search index"
    problems = []
    for fragment in found:
        # search.js shows the excerpt (cut from `content`) as HTML, with every tag but <mark> removed first
        content = re.sub(r"<(?!/?mark>)[^>]*>", "", str(fragment.get("content", "")))
        problems += live_problems(content, base_url, f"search fragment {fragment.get('url')}")
        assert same_origin(str(fragment.get("url", "")), base_url)
    assert not problems, "\n".join(problems[:40])


def test_open_data_keeps_the_words_and_no_markup(hostile_site: tuple[Path, str]) -> None:
    output, base_url = hostile_site
    raw = (output / "data" / "ideas.json").read_text(encoding="utf-8")
    assert not live_problems(raw, base_url, "ideas.json") and "<" not in raw, "no markup even if the file is read as HTML"
    ideas = json.loads(raw)["ideas"]
    assert any("<script>alert('x1')</script>" in idea["text"] for idea in ideas), "decoded, the data is exactly what was said"
    for name in ("ideas.csv", "comments.csv"):
        text = (output / "data" / name).read_text(encoding="utf-8")
        assert "<script>alert('x1')</script>" in text, f"{name} is data: the words as they were sent"
