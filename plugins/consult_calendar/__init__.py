"""Pelican plugin: `/events.ics`, a calendar feed of every event, and an `.ics` file per event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.outputs import write_output
from generator.timing import stage
from generator.views import SiteViews

from .ical import calendar, event_ics_path

FEED_PATH = "/events.ics"


class CalendarGenerator(Generator):
    """Writes the calendar files; the event pages link to them ("Add to calendar")."""

    def generate_context(self) -> None:
        self.views: SiteViews = self.settings["CONSULT_VIEWS"]
        self.context["calendar_feed"] = FEED_PATH
        self.context["event_ics"] = {slug: event_ics_path(e) for slug, e in self.views.events.items()}

    @stage("calendar")
    def generate_output(self, writer: Any) -> None:
        config = self.views.site.config
        output = Path(self.output_path)
        events = list(self.views.events.values())
        write_output(output, FEED_PATH, calendar(config, events, f"{config.title} events"))
        for event in events:
            write_output(output, event_ics_path(event), calendar(config, [event], event.title))


def get_generators(_pelican: Any) -> type[Generator]:
    return CalendarGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
