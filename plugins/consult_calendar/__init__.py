"""Pelican plugin: `/events.ics`, a calendar feed of every event, and an `.ics` file per event.

The generator puts the calendar links in the shared context (event pages link
to them: "Add to calendar"); the pipeline calls `write_calendars`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import Generator

from generator.outputs import write_output
from generator.views import EventView, SiteViews

FEED_PATH = "/events.ics"


def event_ics_path(event: EventView) -> str:
    """Where an event's own calendar file lives, beside its page."""
    return f"{event.url}{event.slug}.ics"


class CalendarGenerator(Generator):
    """Puts the calendar feed's and each event's `.ics` path in the shared context."""

    def generate_context(self) -> None:
        views: SiteViews = self.context["views"]
        self.context["calendar_feed"] = FEED_PATH
        self.context["event_ics"] = {slug: event_ics_path(e) for slug, e in views.events.items()}


def write_calendars(views: SiteViews, output: Path) -> int:
    """Write the calendar of every event and one per event; return how many files."""
    from .ical import calendar  # icalendar only here: the stage runs in the process beside the page rendering, so its import does too

    config = views.site.config
    events = list(views.events.values())
    write_output(output, FEED_PATH, calendar(config, events, f"{config.title} events"))
    for event in events:
        write_output(output, event_ics_path(event), calendar(config, [event], event.title))
    return 1 + len(events)


def get_generators(_pelican: Any) -> type[Generator]:
    return CalendarGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
