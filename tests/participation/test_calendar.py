"""The events calendar: `/events.ics` and one `.ics` per event, valid RFC 5545 in Europe/London."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from bs4 import BeautifulSoup

from .conftest import Content

LONDON = ZoneInfo("Europe/London")


def load(site_dir: Path, path: str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical((site_dir / path.lstrip("/")).read_bytes())


def local(value: object) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=LONDON) if moment.tzinfo is None else moment


def test_feed_has_every_event_at_the_right_time(site_dir: Path, content: Content) -> None:
    calendar = load(site_dir, "/events.ics")
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    events = {str(e["UID"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    assert set(events) == {e.slug for e in content.events}
    for event in content.events:
        item = events[event.slug]
        assert str(item["SUMMARY"]) == event.meta["title"]
        assert item["DTSTART"].params["TZID"] == "Europe/London"
        assert item.decoded("DTSTART") == local(event.meta["start"])
        assert item.decoded("DTEND") == local(event.meta["end"])
        assert item.get("DTSTAMP") is not None
        where = "Online" if event.meta.get("online") else event.meta["location"]
        assert str(item["LOCATION"]) == where


def test_calendar_has_a_london_vtimezone_and_round_trips(site_dir: Path) -> None:
    raw = (site_dir / "events.ics").read_bytes()
    calendar = icalendar.Calendar.from_ical(raw)
    zones = calendar.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["Europe/London"]
    assert {c.name for c in zones[0].subcomponents} == {"STANDARD", "DAYLIGHT"}
    assert calendar.to_ical() == raw
    assert b"\r\n" in raw and all(len(line) <= 75 for line in raw.split(b"\r\n"))


def test_each_upcoming_event_page_offers_its_own_ics(site_dir: Path, content: Content) -> None:
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    for event in content.events:
        page = BeautifulSoup((site_dir / "events" / event.slug / "index.html").read_text(encoding="utf-8"), "html.parser")
        link = page.find("a", href=lambda h: bool(h) and h.endswith(".ics"))
        upcoming = local(event.meta["end"]) >= now
        assert (link is not None) == upcoming, event.slug
        calendar = load(site_dir, f"/events/{event.slug}/{event.slug}.ics")
        items = calendar.walk("VEVENT")
        assert len(items) == 1 and items[0].decoded("DTSTART") == local(event.meta["start"])
        if link is not None:
            assert link["href"] == f"/events/{event.slug}/{event.slug}.ics"
            assert link.get_text(" ", strip=True).startswith("Add to calendar")


def test_an_event_file_carries_its_joining_or_booking_link(site_dir: Path, content: Content) -> None:
    """What a calendar app shows on the day: the link to join (online) or book, as URL and in the description."""
    online = [e for e in content.events if e.meta.get("online") and e.meta.get("registration")]
    assert online, "the sample content needs an online event with a link"
    for event in content.events:
        item = load(site_dir, f"/events/{event.slug}/{event.slug}.ics").walk("VEVENT")[0]
        page = f"http://localhost:8000/events/{event.slug}/"
        link = event.meta.get("registration")
        assert str(item["URL"]) == (link or page), event.slug
        description = str(item["DESCRIPTION"])
        assert description.startswith(event.meta["summary"]) and f"Details: {page}" in description
        if link:
            label = "Join or book online" if event.meta.get("online") else "Book your place"
            assert f"{label}: {link}" in description, event.slug
        else:
            assert "https://" not in description.replace(page, ""), event.slug


def test_events_page_links_the_feed(site_dir: Path) -> None:
    page = BeautifulSoup((site_dir / "events/index.html").read_text(encoding="utf-8"), "html.parser")
    assert page.find("a", href="/events.ics") is not None
