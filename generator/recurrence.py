"""Events that repeat (`repeats: weekly` or `monthly`): which occurrence is current, and how to say it.

Times are worked out in London's wall-clock time, so a 3am drop-in stays at
3am across the clock changes. A monthly event repeats on the same weekday of
the same week of the month as its first `start` (the first Tuesday, say), or
on the last such weekday when the first start was in a month's last week.
"""

from __future__ import annotations

import datetime as dt

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday, weekdays

from .schema import LONDON, Event

ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(LONDON).replace(tzinfo=None)


def week_of_month(day: dt.date) -> int:
    """1 to 4 for the first to fourth such weekday of the month; -1 for one in the last seven days past the fourth."""
    nth = (day.day - 1) // 7 + 1
    return nth if nth <= 4 else -1


def monthly_weekday(event: Event) -> weekday:
    first = _local(event.start).date()
    return weekdays[first.weekday()](week_of_month(first))


def rule(event: Event) -> rrule | None:
    """The event's occurrences (start times, London wall clock), or None for a one-off event."""
    if event.repeats is None:
        return None
    start = _local(event.start)
    until = dt.datetime.combine(event.repeats_until, dt.time(23, 59, 59)) if event.repeats_until else None
    if event.repeats == "weekly":
        return rrule(WEEKLY, dtstart=start, until=until)
    return rrule(MONTHLY, dtstart=start, byweekday=monthly_weekday(event), until=until)


def occurrence(event: Event, now: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """The occurrence that is on or next at `now` (the last one once a series has ended); start and end."""
    series = rule(event)
    if series is None or now is None:
        return event.start, event.end
    length = event.end - event.start
    start = series.after(_local(now) - length, inc=True) or series.before(_local(now), inc=True) or _local(event.start)
    return start.replace(tzinfo=LONDON), (start + length).replace(tzinfo=LONDON)


def describe(event: Event) -> str | None:
    """'Every month, on the first Tuesday' (and 'until 31 December 2027'), or None for a one-off event."""
    if event.repeats is None:
        return None
    first = _local(event.start).date()
    day = DAYS[first.weekday()]
    text = f"Every week, on {day}" if event.repeats == "weekly" else f"Every month, on the {ORDINALS[week_of_month(first)]} {day}"
    if event.repeats_until:
        text += f", until {event.repeats_until.day} {event.repeats_until:%B %Y}"
    return text


def ical_rule(event: Event) -> dict[str, object] | None:
    """The RRULE of an iCalendar VEVENT (RFC 5545 §3.3.10); UNTIL in UTC, as the standard asks with a TZID start."""
    if event.repeats is None:
        return None
    parts: dict[str, object] = {"freq": "WEEKLY" if event.repeats == "weekly" else "MONTHLY"}
    if event.repeats == "monthly":
        first = _local(event.start).date()
        parts["byday"] = f"{week_of_month(first)}{('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')[first.weekday()]}"
    if event.repeats_until:
        last = dt.datetime.combine(event.repeats_until, dt.time(23, 59, 59), LONDON)
        parts["until"] = last.astimezone(dt.UTC)
    return parts


__all__ = ["describe", "ical_rule", "occurrence", "rule"]
