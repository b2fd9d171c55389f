"""The one clock that decides dates: which challenges are open, which events are upcoming, retention.

The build, `consult serve` and the intake take a `Clock` (or a `now` read from
one) instead of reading the wall clock themselves, so a test or a demo can
say what day it is. For a whole process, `CONSULT_NOW` sets it:

- `CONSULT_NOW=2029-03-01T12:00:00`: the clock reads that moment when the
  process starts and runs on from there (a time without an offset is
  Europe/London time; a bare date means noon on that day);
- `CONSULT_NOW=+730d` (or `-30d`): that many days from the real time;
- unset or empty: the real time.

Only dates that change what a page or the intake says read this clock.
Durations (rate windows, retries, timeouts) use the monotonic clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .errors import ConsultError

LONDON = ZoneInfo("Europe/London")
"""The consultation's time zone: dates and closing times are London's."""

ENV_VAR = "CONSULT_NOW"
_OFFSET = re.compile(r"^([+-])(\d{1,6})d$")


def _utc_now() -> dt.datetime:
    return dt.datetime.fromtimestamp(time.time(), dt.UTC)


def wall_time() -> dt.datetime:
    """The real time, never shifted: for bookkeeping that processes compare with each other
    (when a decision was recorded), never for a date that changes what a page or the intake says."""
    return _utc_now()


@dataclass(frozen=True)
class Clock:
    """Real time shifted by `offset`: it runs at the real pace from wherever it was set."""

    offset: dt.timedelta = field(default=dt.timedelta(0))

    def now(self) -> dt.datetime:
        """The current moment, time-zone aware (UTC)."""
        return _utc_now() + self.offset

    def today(self) -> dt.date:
        """Today's date in London, where the consultation's dates are set."""
        return self.now().astimezone(LONDON).date()

    @classmethod
    def at(cls, moment: dt.datetime) -> Clock:
        """A clock that reads `moment` now and runs on from it (a naive moment is London time)."""
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=LONDON)
        return cls(aware - _utc_now())

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Clock:
        """The real clock, or the one `CONSULT_NOW` sets (set once per value, then running on)."""
        return _clock_for((os.environ if environ is None else environ).get(ENV_VAR, "").strip())


@functools.lru_cache(maxsize=8)
def _clock_for(text: str) -> Clock:
    return Clock.at(parse_moment(text)) if text else Clock()


def parse_moment(text: str) -> dt.datetime:
    """`2029-03-01T12:00`, `2029-03-01` (noon, London) or `+730d` → an aware moment; a clear error otherwise."""
    offset = _OFFSET.match(text)
    if offset:
        days = int(offset.group(2)) * (1 if offset.group(1) == "+" else -1)
        return _utc_now() + dt.timedelta(days=days)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12), LONDON)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConsultError(
            f"{ENV_VAR} must be a date or time such as 2029-03-01 or 2029-03-01T12:00:00, or a number of days "
            f"from now such as +730d; found {text!r}. Unset it to use the real time."
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LONDON)


def system_clock() -> Clock:
    """The process's clock: real time, or as `CONSULT_NOW` sets it."""
    return Clock.from_environment()
