"""Atom feeds built from the views with feedgenerator (the library Pelican bundles).

Every date in a feed comes from the content, never from the clock, so an
unchanged site rebuilds to byte-identical feeds.

Summaries are plain text (what someone wrote, markup and all, as words), but
feedgenerator writes every summary as `type="html"`: a reader would decode the
text as HTML and run any markup in it. So each summary is HTML-escaped first:
the HTML it becomes shows exactly the text, and nothing in it is live.
"""

from __future__ import annotations

import datetime as dt
import heapq
import html
from collections.abc import Iterable
from dataclasses import dataclass
from io import StringIO

from feedgenerator import Atom1Feed

from generator.config import SiteConfig
from generator.markdown import plain_text_of
from generator.outputs import absolute_url
from generator.schema import LONDON
from generator.views import ChallengeView, IdeaView, SiteViews, UpdateView

FEED_LIMIT = 50
"""Most recent entries per feed; readers only need what is new."""


@dataclass(frozen=True)
class FeedLink:
    """A feed as the pages link to it with `<link rel="alternate">`."""

    title: str
    url: str


@dataclass(frozen=True)
class Entry:
    title: str
    url: str
    summary: str
    date: dt.date
    categories: tuple[str, ...] = ()


class StableAtomFeed(Atom1Feed):
    """An Atom feed whose `<updated>` falls back to a fixed date when it has no entries."""

    def __init__(self, *args: object, fallback: dt.datetime, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fallback = fallback

    def latest_post_date(self) -> dt.datetime:
        dates = [item["updateddate"] or item["pubdate"] for item in self.items]
        return max((d for d in dates if d), default=self.fallback)


def _moment(day: dt.date) -> dt.datetime:
    """A content date as an aware datetime: midday in London, so it never shifts a day."""
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=LONDON)


def idea_entry(idea: IdeaView) -> Entry:
    summary = idea.meta.summary or plain_text_of(idea.html, 400)
    label = idea.meta.status.label
    categories = (idea.challenge.title if idea.challenge else "", label, *idea.meta.tags)
    return Entry(f"{idea.title} ({label})", idea.url, summary, idea.date, tuple(c for c in categories if c))


def update_entry(update: UpdateView) -> Entry:
    return Entry(update.title, update.url, update.meta.summary, update.meta.date, ("You said, we did",))


def render_feed(config: SiteConfig, title: str, path: str, page: str, entries: list[Entry], fallback: dt.date) -> str:
    """The Atom document for entries (newest first, at most FEED_LIMIT)."""
    feed = StableAtomFeed(
        title=title,
        link=absolute_url(config, page),
        feed_url=absolute_url(config, path),
        description=config.tagline,
        language=config.language,
        author_name=config.organisation.name,
        feed_guid=absolute_url(config, path),
        fallback=_moment(fallback),
    )
    ordered = sorted(entries, key=lambda e: (e.date, e.url), reverse=True)[:FEED_LIMIT]
    for entry in ordered:
        link = absolute_url(config, entry.url)
        feed.add_item(
            title=entry.title,
            link=link,
            description=html.escape(entry.summary, quote=False),
            unique_id=link,
            pubdate=_moment(entry.date),
            updateddate=_moment(entry.date),
            categories=list(entry.categories),
            author_name=config.organisation.name,
        )
    out = StringIO()
    feed.write(out, "utf-8")
    return out.getvalue()


def site_feed_path() -> str:
    return "/feeds/all.atom.xml"


def updates_feed_path() -> str:
    return "/feeds/updates.atom.xml"


def challenge_feed_path(challenge: ChallengeView) -> str:
    return f"/feeds/challenges/{challenge.slug}.atom.xml"


def earliest(views: SiteViews) -> dt.date:
    """A fixed fallback for feeds with no entries: the first challenge's opening date."""
    opens = [c.meta.opens for c in views.challenges.values()]
    return min(opens, default=dt.date(2000, 1, 1))


def newest(ideas: Iterable[IdeaView]) -> list[IdeaView]:
    """The FEED_LIMIT ideas a feed can show (ordered as `render_feed` orders entries): only these are made into entries."""
    return heapq.nlargest(FEED_LIMIT, ideas, key=lambda idea: (idea.date, idea.url))


def all_feeds(views: SiteViews) -> dict[str, str]:
    """Every feed of the site: site path → Atom document."""
    config = views.site.config
    fallback = earliest(views)
    ideas = [idea_entry(i) for i in newest(views.ideas.values())]
    updates = [update_entry(u) for u in views.updates.values()]
    feeds = {
        site_feed_path(): render_feed(config, config.title, site_feed_path(), "/", ideas + updates, fallback),
        updates_feed_path(): render_feed(config, f"You said, we did – {config.title}", updates_feed_path(), "/updates/", updates, fallback),
    }
    for challenge in views.challenges.values():
        path = challenge_feed_path(challenge)
        entries = [idea_entry(i) for i in newest(challenge.ideas)]
        feeds[path] = render_feed(config, f"{challenge.title} – {config.title}", path, challenge.url, entries, challenge.meta.opens)
    return feeds


def feed_links(views: SiteViews) -> dict[str, object]:
    """What the pages need to link the feeds: the site-wide ones (also by name, for visible links) and one per challenge."""
    title = views.site.config.title
    everything = FeedLink(f"{title}: new ideas and updates", site_feed_path())
    updates = FeedLink(f"{title}: you said, we did", updates_feed_path())
    return {
        "site": [everything, updates],
        "all": everything,
        "updates": updates,
        "challenges": {slug: FeedLink(f"{c.title}: new ideas", challenge_feed_path(c)) for slug, c in views.challenges.items()},
    }
