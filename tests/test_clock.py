"""The one clock (generator/clock.py), repeating events (generator/recurrence.py), and no other reader of the date."""

from __future__ import annotations

import ast
import datetime as dt
import textwrap
import time
from pathlib import Path

import pytest

from generator.clock import Clock, parse_moment
from generator.errors import ConsultError
from generator.recurrence import describe, ical_rule, occurrence
from generator.schema import LONDON, Event

from .conftest import PROJECT


def test_a_set_clock_reads_its_moment_and_runs_on() -> None:
    moment = dt.datetime(2029, 3, 1, 12, 0, tzinfo=dt.UTC)
    clock = Clock.at(moment)
    first = clock.now()
    assert abs((first - moment).total_seconds()) < 1
    time.sleep(0.05)
    assert clock.now() > first
    assert clock.today() == dt.date(2029, 3, 1)


def test_today_is_londons_date() -> None:
    late_in_summer = Clock.at(dt.datetime(2027, 7, 1, 23, 30, tzinfo=dt.UTC))  # 00:30 on 2 July in London (BST)
    assert late_in_summer.today() == dt.date(2027, 7, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2029-03-01T09:15:00", dt.datetime(2029, 3, 1, 9, 15, tzinfo=LONDON)),
        ("2029-03-01T09:15:00+00:00", dt.datetime(2029, 3, 1, 9, 15, tzinfo=dt.UTC)),
        ("2029-03-01", dt.datetime(2029, 3, 1, 12, 0, tzinfo=LONDON)),
    ],
)
def test_consult_now_takes_a_time_or_a_date(text: str, expected: dt.datetime) -> None:
    assert parse_moment(text) == expected


def test_consult_now_takes_days_from_now() -> None:
    ahead = parse_moment("+730d") - dt.datetime.now(dt.UTC)
    assert abs(ahead - dt.timedelta(days=730)) < dt.timedelta(seconds=5)
    behind = parse_moment("-30d") - dt.datetime.now(dt.UTC)
    assert abs(behind + dt.timedelta(days=30)) < dt.timedelta(seconds=5)


def test_a_wrong_consult_now_says_what_it_takes() -> None:
    with pytest.raises(ConsultError) as caught:
        Clock.from_environment({"CONSULT_NOW": "next tuesday"})
    message = str(caught.value)
    assert "CONSULT_NOW" in message and "'next tuesday'" in message and "2029-03-01" in message and "+730d" in message


def test_unset_consult_now_is_the_real_time() -> None:
    assert abs((Clock.from_environment({}).now() - dt.datetime.now(dt.UTC)).total_seconds()) < 1


def test_the_command_line_honours_consult_now(tmp_path: Path) -> None:
    """`consult build` under CONSULT_NOW shows the site as it is on that day."""
    import os
    import subprocess

    from .conftest import copy_sample

    root = copy_sample(tmp_path / "repo")
    env = {**os.environ, "CONSULT_NOW": "2029-06-01T12:00:00"}
    subprocess.run(
        [str(PROJECT / ".venv/bin/consult"), "--root", str(root), "build", "--output", str(tmp_path / "site")],
        env=env,
        check=True,
        capture_output=True,
    )
    page = (tmp_path / "site/challenges/feeling-empowered/index.html").read_text(encoding="utf-8")
    assert "Closed to new ideas" in page and 'id="share-form"' not in page


def test_the_build_and_the_intake_read_the_clock_a_test_sets(set_clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from generator.build import build
    from intake.settings import IntakeSettings

    from .conftest import copy_sample

    clock = set_clock("2029-06-01")
    assert clock.today() == dt.date(2029, 6, 1)
    root = copy_sample(tmp_path / "repo")
    result = build(root, tmp_path / "site")
    assert not result.views.challenges["feeling-empowered"].is_open
    settings = IntakeSettings.from_environment(root, environ={"CONSULT_NOW": "2029-06-01"})
    assert settings.clock.today() == dt.date(2029, 6, 1)


def event(**fields: object) -> Event:
    base: dict[str, object] = {"title": "Drop-in", "summary": "An online drop-in for staff.", "online": True}
    return Event.model_validate({**base, **fields})


def test_a_monthly_event_falls_on_the_same_weekday_of_the_month() -> None:
    drop_in = event(start="2026-12-01 12:30", end="2026-12-01 13:15", repeats="monthly")  # the first Tuesday
    assert describe(drop_in) == "Every month, on the first Tuesday"
    start, end = occurrence(drop_in, dt.datetime(2027, 3, 2, 14, 0, tzinfo=dt.UTC))  # after March's
    assert (start, end) == (dt.datetime(2027, 4, 6, 12, 30, tzinfo=LONDON), dt.datetime(2027, 4, 6, 13, 15, tzinfo=LONDON))
    assert ical_rule(drop_in) == {"freq": "MONTHLY", "byday": "1TU"}


def test_an_occurrence_under_way_is_still_the_current_one() -> None:
    drop_in = event(start="2026-12-01 12:30", end="2026-12-01 13:15", repeats="monthly")
    start, _ = occurrence(drop_in, dt.datetime(2027, 3, 2, 13, 0, tzinfo=LONDON))
    assert start == dt.datetime(2027, 3, 2, 12, 30, tzinfo=LONDON)


def test_a_night_event_keeps_its_london_time_across_the_clock_change() -> None:
    night = event(start="2027-03-03 03:00", end="2027-03-03 04:00", repeats="weekly")  # GMT
    start, _ = occurrence(night, dt.datetime(2027, 4, 1, tzinfo=dt.UTC))  # BST by then
    assert (start.hour, start.utcoffset()) == (3, dt.timedelta(hours=1))
    assert describe(night) == "Every week, on Wednesday"


def test_a_series_with_an_end_stops_and_its_last_occurrence_is_past() -> None:
    series = event(start="2026-11-30 10:00", end="2026-11-30 11:00", repeats="monthly", repeats_until="2027-01-31")
    assert describe(series) == "Every month, on the last Monday, until 31 January 2027"
    start, end = occurrence(series, dt.datetime(2029, 1, 1, tzinfo=dt.UTC))
    assert start == dt.datetime(2027, 1, 25, 10, 0, tzinfo=LONDON) and end < dt.datetime(2029, 1, 1, tzinfo=dt.UTC)
    assert ical_rule(series)["until"] == dt.datetime(2027, 1, 31, 23, 59, 59, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"repeats_until": "2027-01-01"}, "repeats_until needs repeats"),
        ({"repeats": "monthly", "repeats_until": "2026-01-01"}, "is before the first start"),
        ({"repeats": "yearly"}, "'weekly' or 'monthly'"),
        ({"repeats": "weekly", "end": "2026-12-03 12:30"}, "a day or less"),
    ],
)
def test_repeating_events_are_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        event(**{"start": "2026-12-01 12:30", "end": "2026-12-01 13:15", **fields})


WALL_CLOCK_READS = {("datetime", "now"), ("datetime", "today"), ("datetime", "utcnow"), ("date", "today")}


def wall_clock_reads(path: Path) -> list[str]:
    """Calls such as dt.datetime.now() or date.today() in a Python file, as 'line: owner.name()'."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, (ast.Attribute, ast.Name)):
            owner = node.func.value.attr if isinstance(node.func.value, ast.Attribute) else node.func.value.id
            if (owner, node.func.attr) in WALL_CLOCK_READS:
                found.append(f"{node.lineno}: {owner}.{node.func.attr}()")
    return found


def test_the_finder_of_wall_clock_reads_finds_them(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        textwrap.dedent("""\
        import datetime as dt
        from datetime import date
        a = dt.datetime.now(dt.timezone.utc)
        b = date.today()
        c = dt.timedelta(days=1)
    """),
        encoding="utf-8",
    )
    assert wall_clock_reads(sample) == ["3: datetime.now()", "4: date.today()"]


def test_only_the_clock_reads_the_date() -> None:
    """Every date that changes what the site or the intake says comes from generator/clock.py, so CONSULT_NOW moves it."""
    files = [p for folder in ("generator", "intake", "plugins") for p in sorted((PROJECT / folder).rglob("*.py"))]
    reads = [f"{path.relative_to(PROJECT)}:{read}" for path in files if path != PROJECT / "generator" / "clock.py" for read in wall_clock_reads(path)]
    assert reads == []
