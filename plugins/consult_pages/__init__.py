"""Pelican plugin: the consultation's pages (home, challenges, ideas, topics, events, tags, static pages, forms, 404).

Its generator reads the validated views from Pelican's shared context
(`views`, put there by `generator.engine.start`), adds what every page shows
to it, and describes every page with a clean URL (`/ideas/<slug>/`) as a
`PageSpec`; the pipeline's "render pages" stage renders them.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.hashing import signature
from generator.pagewriter import PageSpec
from generator.views import CommentView, IdeaView, PageOf, SiteViews, by_support, paginate

INDEXED_TEMPLATES = frozenset({"challenge", "event", "idea", "page", "topic", "update"})
"""Templates whose pages carry `data-pagefind-body` (a challenge only on its first, unfiltered page)."""


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

    def _spec(self, url: str, template: str, parts: tuple[Any, ...], **values: Any) -> PageSpec:
        return PageSpec(url, template, values, signature(self.shared, template, url, *parts), indexed=self._indexed(template, values))

    @staticmethod
    def _indexed(template: str, values: dict[str, Any]) -> bool:
        """Whether the page has `data-pagefind-body` (the search index's pages): as the templates decide it."""
        if template == "challenge":
            return values["page"].number == 1 and not values.get("status_filter") and not values.get("by_support")
        return template in INDEXED_TEMPLATES

    def _listing(self, base_url: str, template: str, ideas: list[IdeaView], extra: tuple[Any, ...], **values: Any) -> Iterator[PageSpec]:
        """The pages of a listing; with `by_support=True` its cards show each idea's support count."""
        per_page = self.views.site.config.ideas_per_page
        for page in paginate(ideas, per_page, base_url):
            cards = tuple((i.card_signature, i.supports) if values.get("by_support") else i.card_signature for i in page.items)
            yield self._spec(page.url, template, (page.number, page.count, cards, *extra), page=page, **values)

    def page_specs(self, shared: str) -> Iterator[PageSpec]:
        """Every page of the site with the signature of what it shows; `shared` is what every page shows (`global_signature`)."""
        self.shared = shared
        views = self.views
        everything = self.site_signature
        yield self._spec("/", "home", (everything,))
        yield self._spec("/challenges/", "challenges", (everything,))
        for challenge in views.challenges.values():
            about = (
                challenge.entry.digest,
                challenge.closing,
                tuple(sorted(challenge.counts.items())),
                tuple((t.slug, t.title, t.comment_count) for t in challenge.topics),
                tuple((e.entry.digest, e.start) for e in challenge.events),
                views.supports_known,
            )
            yield from self._listing(challenge.url, "challenge", challenge.ideas, about, challenge=challenge, status_filter=None)
            if views.supports_known:
                yield from self._listing(
                    f"{challenge.url}by-support/",
                    "challenge",
                    by_support(challenge.ideas),
                    about,
                    challenge=challenge,
                    status_filter=None,
                    by_support=True,
                )
            for status in challenge.counts:
                ideas = [i for i in challenge.ideas if i.status == status]
                if ideas:
                    yield from self._listing(f"{challenge.url}status/{status}/", "challenge", ideas, about, challenge=challenge, status_filter=status)
            if challenge.is_open:
                yield self._spec(f"{challenge.url}new-topic/", "new_topic", (), challenge=challenge)
            for topic in challenge.topics:
                yield self._spec(
                    topic.url, "topic", (topic.entry.digest, challenge.title, self._thread(topic.comments)), topic=topic, challenge=challenge
                )
        counts = tuple(sorted(views.counts.items()))
        yield from self._listing("/ideas/", "ideas", views.ideas_newest_first, (counts,), status_filter=None)
        for status, count in views.counts.items():
            if count:
                ideas = [i for i in views.ideas_newest_first if i.status == status]
                yield from self._listing(f"/ideas/status/{status}/", "ideas", ideas, (counts,), status_filter=status)
        for idea in views.ideas.values():
            parts = (
                idea.entry.digest,
                idea.challenge.title,
                self._thread(idea.comments),
                tuple((o.url, o.title) for o in idea.related),
                tuple((u.url, u.title, u.meta.date) for u in idea.updates),
                idea.supports,
            )
            yield self._spec(idea.url, "idea", parts, idea=idea, challenge=idea.challenge)
        for duplicate in views.duplicates.values():
            original = duplicate.original
            assert original is not None
            pointer = (
                duplicate.entry.digest,
                duplicate.challenge.title,
                original.url,
                original.title,
                original.challenge.title,
                original.challenge.is_open,
            )
            yield self._spec(duplicate.url, "duplicate", pointer, idea=duplicate, original=original, challenge=duplicate.challenge)
        yield self._spec("/tags/", "tags", (tuple((tag, len(ideas)) for tag, ideas in views.tags.items()),))
        for tag, ideas in views.tags.items():
            yield from self._listing(f"/tags/{tag}/", "tag", ideas, (), tag=tag)
        yield self._spec("/events/", "events", (everything,))
        for event in views.events.values():
            yield self._spec(event.url, "event", (everything,), event=event)
        for update in views.updates.values():
            yield self._spec(update.url, "update", (everything,), update=update)
        if views.updates:
            yield self._spec("/updates/", "updates", (everything,))
        for page in views.pages.values():
            yield self._spec(page.url, "page", (page.entry.digest,), static_page=page)
        yield self._spec("/share/", "share", (everything,), selected_challenge=None)
        yield self._spec("/404.html", "404", ())

    @staticmethod
    def _thread(comments: list[CommentView]) -> tuple[str, ...]:
        return tuple(c.entry.digest for comment in comments for c in (comment, *comment.replies))

    @cached_property
    def site_signature(self) -> str:
        """What the site-wide pages (home, events, share…) show: every card, event, update and topic."""
        views = self.views
        upcoming, past = views.events_split(self.now)
        return signature(
            tuple(i.card_signature for i in views.ideas_newest_first),
            tuple((e.entry.digest, e.start) for e in upcoming),
            tuple(e.entry.digest for e in past),
            tuple(u.entry.digest for u in views.updates.values()),
            tuple((t.slug, t.comment_count) for t in views.topics.values()),
        )

    @cached_property
    def global_signature(self) -> str:
        """What every page shows or is made with: settings, navigation, footer, challenges, theme and code."""
        views = self.views
        context_parts = tuple(repr(self.context.get(key)) for key in ("feature_links", "feeds"))
        return signature(
            self.context["code_signature"],
            views.site.config.model_dump_json(),
            tuple((c.entry.digest, c.is_open) for c in views.challenges.values()),
            tuple((p.url, p.title) for p in views.footer_pages),
            sorted(self.context.get("asset_files", {}).items()) if isinstance(self.context.get("asset_files"), dict) else "",
            repr(sorted(self.env.globals.get("status_labels", {}).items())),
            self.env.globals["asset"]("consult.css"),
            self.env.globals["asset"]("consult.js"),
            context_parts,
        )


def get_generators(_pelican: Any) -> type[Generator]:
    return ConsultPagesGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)


__all__ = ["ConsultPagesGenerator", "PageOf", "register"]
