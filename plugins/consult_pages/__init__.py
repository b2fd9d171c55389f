"""Pelican plugin: the consultation's pages (home, challenges, ideas, topics, events, tags, static pages, forms, 404).

Its generator reads the validated views from Pelican's shared context
(`views`, put there by `generator.engine.start`), adds what every page shows
to it, and describes every page with a clean URL (`/ideas/<slug>/`) as a
`PageSpec`; the pipeline's "render pages" stage renders them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.pagewriter import PageSpec
from generator.views import IdeaView, PageOf, SiteViews, by_support, paginate


class ConsultPagesGenerator(Generator):
    """Describes the site's pages from the views in the context."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.context["views"]
        self.now = self.context["now"]
        upcoming, past = self.views.events_split(self.now)
        self.context.update(
            views=self.views,
            challenges=list(self.views.challenges.values()),
            footer_pages=self.views.footer_pages,
            upcoming_events=upcoming,
            past_events=past,
        )

    def _listing(self, base_url: str, template: str, ideas: list[IdeaView], **values: Any) -> Iterator[PageSpec]:
        """The pages of a listing; with `by_support=True` its cards show each idea's support count."""
        per_page = self.views.site.config.ideas_per_page
        for page in paginate(ideas, per_page, base_url):
            yield PageSpec(page.url, template, {"page": page, **values})

    def page_specs(self) -> Iterator[PageSpec]:
        """Every page of the site: its URL, template and own values (what it shows is found while it renders)."""
        views = self.views
        yield PageSpec("/", "home", {})
        yield PageSpec("/challenges/", "challenges", {})
        for challenge in views.challenges.values():
            yield from self._listing(challenge.url, "challenge", challenge.ideas, challenge=challenge, status_filter=None)
            if views.supports_known:
                yield from self._listing(
                    f"{challenge.url}by-support/", "challenge", by_support(challenge.ideas), challenge=challenge, status_filter=None, by_support=True
                )
            for status in challenge.counts:
                ideas = [i for i in challenge.ideas if i.status == status]
                if ideas:
                    yield from self._listing(f"{challenge.url}status/{status}/", "challenge", ideas, challenge=challenge, status_filter=status)
            if challenge.is_open:
                yield PageSpec(f"{challenge.url}new-topic/", "new_topic", {"challenge": challenge})
            for topic in challenge.topics:
                yield PageSpec(topic.url, "topic", {"topic": topic, "challenge": challenge})
        yield from self._listing("/ideas/", "ideas", views.ideas_newest_first, status_filter=None)
        for status, count in views.counts.items():
            if count:
                ideas = [i for i in views.ideas_newest_first if i.status == status]
                yield from self._listing(f"/ideas/status/{status}/", "ideas", ideas, status_filter=status)
        for idea in views.ideas.values():
            yield PageSpec(idea.url, "idea", {"idea": idea, "challenge": idea.challenge})
        for duplicate in views.duplicates.values():
            yield PageSpec(duplicate.url, "duplicate", {"idea": duplicate, "original": duplicate.original, "challenge": duplicate.challenge})
        yield PageSpec("/tags/", "tags", {})
        for tag, ideas in views.tags.items():
            yield from self._listing(f"/tags/{tag}/", "tag", ideas, tag=tag)
        yield PageSpec("/events/", "events", {})
        for event in views.events.values():
            yield PageSpec(event.url, "event", {"event": event})
        for update in views.updates.values():
            yield PageSpec(update.url, "update", {"update": update})
        if views.updates:
            yield PageSpec("/updates/", "updates", {})
        for page in views.pages.values():
            yield PageSpec(page.url, "page", {"static_page": page})
        yield PageSpec("/share/", "share", {"selected_challenge": None})
        yield PageSpec("/404.html", "404", {})


def get_generators(_pelican: Any) -> type[Generator]:
    return ConsultPagesGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)


__all__ = ["ConsultPagesGenerator", "PageOf", "register"]
