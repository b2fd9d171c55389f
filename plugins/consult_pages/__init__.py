"""Pelican plugin: the consultation's pages (home, challenges, ideas, topics, events, tags, static pages, forms, 404).

Reads the validated views the build puts in the settings (`CONSULT_VIEWS`)
and writes every page with a clean URL (`/ideas/<slug>/index.html`).
"""

from __future__ import annotations

from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.views import PageOf, SiteViews, paginate


class ConsultPagesGenerator(Generator):
    """Writes the site's pages from CONSULT_VIEWS."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.settings["CONSULT_VIEWS"]
        self.now = self.settings["CONSULT_NOW"]
        upcoming, past = self.views.events_split(self.now)
        self.context.update(
            views=self.views,
            challenges=list(self.views.challenges.values()),
            footer_pages=self.views.footer_pages,
            upcoming_events=upcoming,
            past_events=past,
        )

    def _write(self, writer: Any, url: str, template: str, **values: Any) -> None:
        name = url.strip("/") + "/index.html" if url.strip("/") else "index.html"
        if url.endswith(".html"):
            name = url.lstrip("/")
        writer.write_file(name, self.get_template(template), self.context, page_url=url, **values)

    def _write_listing(self, writer: Any, base_url: str, template: str, ideas: list, **values: Any) -> None:
        per_page = self.views.site.config.ideas_per_page
        for page in paginate(ideas, per_page, base_url):
            self._write(writer, page.url, template, page=page, **values)

    def generate_output(self, writer: Any) -> None:
        views = self.views
        self._write(writer, "/", "home")
        self._write(writer, "/challenges/", "challenges")
        for challenge in views.challenges.values():
            self._write_listing(writer, challenge.url, "challenge", challenge.ideas, challenge=challenge, status_filter=None)
            for status in challenge.counts:
                ideas = [i for i in challenge.ideas if i.status == status]
                if ideas:
                    self._write_listing(writer, f"{challenge.url}status/{status}/", "challenge", ideas, challenge=challenge, status_filter=status)
            for topic in challenge.topics:
                self._write(writer, topic.url, "topic", topic=topic, challenge=challenge)
        self._write_listing(writer, "/ideas/", "ideas", views.ideas_newest_first, status_filter=None)
        for status, count in views.counts.items():
            if count:
                ideas = [i for i in views.ideas_newest_first if i.status == status]
                self._write_listing(writer, f"/ideas/status/{status}/", "ideas", ideas, status_filter=status)
        for idea in views.ideas.values():
            self._write(writer, idea.url, "idea", idea=idea, challenge=idea.challenge)
        self._write(writer, "/tags/", "tags")
        for tag, ideas in views.tags.items():
            self._write_listing(writer, f"/tags/{tag}/", "tag", ideas, tag=tag)
        self._write(writer, "/events/", "events")
        for event in views.events.values():
            self._write(writer, event.url, "event", event=event)
        for update in views.updates.values():
            self._write(writer, update.url, "update", update=update)
        if views.updates:
            self._write(writer, "/updates/", "updates")
        for page in views.pages.values():
            self._write(writer, page.url, "page", static_page=page)
        self._write(writer, "/share/", "share", selected_challenge=None)
        self._write(writer, "/share/thank-you/", "thank_you")
        self._write(writer, "/404.html", "404")


def get_generators(_pelican: Any) -> type[Generator]:
    return ConsultPagesGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)


__all__ = ["ConsultPagesGenerator", "PageOf", "register"]
