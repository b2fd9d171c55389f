"""Atom feeds, sitemap.xml and robots.txt on the built sample site."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import feedparser
from bs4 import BeautifulSoup

from .conftest import Content

BASE = "http://localhost:8000"


def parse(site_dir: Path, path: str) -> feedparser.FeedParserDict:
    feed = feedparser.parse((site_dir / path.lstrip("/")).read_bytes())
    assert not feed.bozo, f"{path}: {feed.get('bozo_exception')}"
    assert feed.version == "atom10"
    return feed


def test_site_feed_has_every_idea_and_update(site_dir: Path, content: Content) -> None:
    feed = parse(site_dir, "/feeds/all.atom.xml")
    links = {entry.link for entry in feed.entries}
    expected = {f"{BASE}/ideas/{i.slug}/" for i in content.ideas} | {f"{BASE}/updates/{u.slug}/" for u in content.updates}
    assert links == expected
    assert feed.feed.title == content.site["title"]
    dates = [entry.updated_parsed for entry in feed.entries]
    assert dates == sorted(dates, reverse=True), "newest first"


def test_each_challenge_has_a_feed_of_its_ideas(site_dir: Path, content: Content) -> None:
    for challenge in content.challenges:
        feed = parse(site_dir, f"/feeds/challenges/{challenge.slug}.atom.xml")
        expected = {f"{BASE}/ideas/{i.slug}/" for i in content.ideas if i.meta["challenge"] == challenge.slug}
        assert {entry.link for entry in feed.entries} == expected
        assert challenge.meta["title"] in feed.feed.title


def test_updates_feed(site_dir: Path, content: Content) -> None:
    feed = parse(site_dir, "/feeds/updates.atom.xml")
    by_link = {entry.link: entry for entry in feed.entries}
    assert set(by_link) == {f"{BASE}/updates/{u.slug}/" for u in content.updates}
    for update in content.updates:
        entry = by_link[f"{BASE}/updates/{update.slug}/"]
        assert entry.title == update.meta["title"]
        assert entry.summary == update.meta["summary"]
        assert entry.published.startswith(str(update.meta["date"]))


def test_pages_link_their_feeds_in_the_head(site_dir: Path) -> None:
    home = BeautifulSoup((site_dir / "index.html").read_text(encoding="utf-8"), "html.parser")
    alternates = {link["href"] for link in home.head.find_all("link", rel="alternate", type="application/atom+xml")}
    assert alternates == {"/feeds/all.atom.xml", "/feeds/updates.atom.xml"}
    idea = BeautifulSoup((site_dir / "ideas/hot-food-for-staff-working-nights/index.html").read_text(encoding="utf-8"), "html.parser")
    alternates = {link["href"] for link in idea.head.find_all("link", rel="alternate")}
    assert "/feeds/challenges/getting-the-basics-right.atom.xml" in alternates
    for href in alternates:
        assert (site_dir / href.lstrip("/")).is_file()


def test_sitemap_lists_every_page(site_dir: Path, content: Content) -> None:
    root = ElementTree.parse(site_dir / "sitemap.xml").getroot()
    locs = [loc.text for loc in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert locs == sorted(locs) and len(locs) == len(set(locs))
    pages = {"/", "/search/", "/numbers/", "/data/", "/events/", "/updates/", "/tags/"}
    pages |= {f"/ideas/{i.slug}/" for i in content.ideas} | {f"/challenges/{c.slug}/" for c in content.challenges}
    pages |= {f"/events/{e.slug}/" for e in content.events}
    assert {BASE + p for p in pages} <= set(locs)
    assert f"{BASE}/404.html" not in locs
    assert not {f"{BASE}/ideas/{d.slug}/" for d in content.duplicates} & set(locs), "a duplicate's page points to its original, which is listed"
    written = {path for path in site_dir.rglob("index.html")}
    assert len(locs) == len(written) - len(content.duplicates), "every page but the duplicates'"
    on_disk = {BASE + "/" + path.relative_to(site_dir).as_posix().removesuffix("index.html") for path in written}
    assert set(locs) == on_disk - {f"{BASE}/ideas/{d.slug}/" for d in content.duplicates}, "exactly the pages written"


def test_robots_points_to_the_sitemap(site_dir: Path) -> None:
    robots = (site_dir / "robots.txt").read_text(encoding="utf-8")
    assert "User-agent: *" in robots
    assert f"Sitemap: {BASE}/sitemap.xml" in robots.splitlines()
    assert "Disallow: /intake/" in robots.splitlines(), "the intake's pages show what people sent before moderation"


def test_a_feed_of_many_ideas_holds_the_newest_fifty_as_if_every_idea_were_an_entry(tmp_path: Path) -> None:
    """Only the ideas a feed can show are made into entries: the documents equal those made from every idea."""
    import sys

    from generator.build import check
    from generator.views import build_views
    from plugins.consult_feeds import atom

    from ..conftest import BUILD_NOW, PROJECT

    sys.path.insert(0, str(PROJECT / "benchmarks"))
    from corpus import make_corpus

    views = build_views(check(make_corpus(tmp_path / "corpus", ideas=300, seed=5)), BUILD_NOW)
    assert max(len(c.ideas) for c in views.challenges.values()) > atom.FEED_LIMIT
    config, fallback = views.site.config, atom.earliest(views)
    every = [atom.idea_entry(i) for i in views.ideas.values()]
    updates = [atom.update_entry(u) for u in views.updates.values()]
    feeds = atom.all_feeds(views)
    site = atom.site_feed_path()
    assert feeds[site] == atom.render_feed(config, config.title, site, "/", every + updates, fallback)
    for challenge in views.challenges.values():
        path = atom.challenge_feed_path(challenge)
        entries = [atom.idea_entry(i) for i in challenge.ideas]
        assert feeds[path] == atom.render_feed(config, f"{challenge.title} – {config.title}", path, challenge.url, entries, challenge.meta.opens)
