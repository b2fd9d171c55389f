"""iCalendar (RFC 5545) documents for events, made with the icalendar library.

Times are written in Europe/London with a VTIMEZONE covering the years the
events span. DTSTAMP is required by RFC 5545; the content has no revision
date, so the event's own start (in UTC) stands in for it and a rebuild of
unchanged content gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from icalendar import Calendar, Event, Timezone

from generator.config import SiteConfig
from generator.outputs import absolute_url
from generator.recurrence import ical_rule
from generator.schema import LONDON
from generator.views import EventView

TZID = "Europe/London"
PRODID = "-//Talk Health and Care//consult//EN"


def vtimezone(events: list[EventView]) -> Timezone:
    """Europe/London's rules from 1 January of the first event's year to 31 December of the year after the last
    (for a repeating event, its current occurrence or its last date)."""
    years = [e.meta.start.year for e in events] + [e.end.year for e in events]
    years += [e.meta.repeats_until.year for e in events if e.meta.repeats_until]
    first = dt.date(min(years, default=2000), 1, 1)
    last = dt.date(max(years, default=2000) + 1, 12, 31)
    return Timezone.from_tzid(TZID, first_date=first, last_date=last)


def description(summary: str, registration: str | None, online: bool, page: str) -> str:
    """The event's summary, its joining or booking link when it has one, and its page."""
    lines = [summary]
    if registration:
        lines.append(f"{'Join or book online' if online else 'Book your place'}: {registration}")
    lines.append(f"Details: {page}")
    return "\n\n".join(lines)


def vevent(config: SiteConfig, event: EventView) -> Event:
    meta = event.meta
    page = absolute_url(config, event.url)
    item = Event()
    item.add("uid", f"{event.slug}@{urlsplit(config.base_url).hostname or 'localhost'}")
    item.add("dtstamp", meta.start.astimezone(dt.UTC))
    item.add("dtstart", meta.start.astimezone(LONDON))
    item.add("dtend", meta.end.astimezone(LONDON))
    item.add("summary", meta.title)
    item.add("description", description(meta.summary, meta.registration, meta.online, page))
    item.add("location", "Online" if meta.online else meta.location)
    # The link people need on the day (to join or book) is the event's URL; without one, its page.
    item.add("url", meta.registration or page)
    item.add("status", "CONFIRMED")
    item.add("transp", "OPAQUE")
    repeats = ical_rule(meta)
    if repeats is not None:
        item.add("rrule", repeats)
    return item


def calendar(config: SiteConfig, events: list[EventView], name: str) -> bytes:
    """A VCALENDAR with the time zone and the events, oldest first."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", TZID)
    cal.add_component(vtimezone(events))
    for event in sorted(events, key=lambda e: (e.meta.start, e.slug)):
        cal.add_component(vevent(config, event))
    return cal.to_ical()
