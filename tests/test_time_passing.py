"""Time passing: the key journeys with the clock two years past every date in the sample content.

The build succeeds, closed challenges keep their ideas and lose their form, the
open-ended challenge still takes ideas, past events move to "past" while the
monthly drop-in stays upcoming, the calendar feed stays valid, and the intake
refuses ideas for a closed challenge with a message that names its closing date.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from dateutil.rrule import rrulestr
from icalendar import Calendar

from generator.build import BuildResult, build
from generator.clock import Clock
from generator.freshness import STAMP
from generator.schema import LONDON
from intake.store import Store

from .conftest import PROJECT, SAMPLE_PARTS, copy_sample
from .intake.conftest import IDEA, Running, make_repo, running_intake

OPEN_ENDED = "getting-the-basics-right"
DROP_IN = "monthly-drop-in-ask-the-editors"


def latest_date_in_sample() -> dt.date:
    """The latest date written anywhere in the sample content (front matter and text)."""
    dates = []
    for part in SAMPLE_PARTS:
        source = PROJECT / part
        for path in [source] if source.is_file() else source.rglob("*.md"):
            dates += [dt.date.fromisoformat(d) for d in re.findall(r"\b(20\d\d-\d\d-\d\d)\b", path.read_text(encoding="utf-8"))]
    return max(dates)


LATEST = latest_date_in_sample()
FUTURE = dt.datetime.combine(LATEST + dt.timedelta(days=2 * 365 + 1), dt.time(12), LONDON)


def page(site: Path, url: str) -> BeautifulSoup:
    return BeautifulSoup((site / url.strip("/") / "index.html").read_text(encoding="utf-8"), "html.parser")


def rows(soup: BeautifulSoup) -> dict[str, str]:
    keys = [" ".join(k.get_text().split()) for k in soup.select(".nhsuk-summary-list__key")]
    values = [" ".join(v.get_text().split()) for v in soup.select(".nhsuk-summary-list__value")]
    return dict(zip(keys, values))


@pytest.fixture(scope="module")
def future(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    root = copy_sample(tmp_path_factory.mktemp("future") / "repo")
    return build(root, root.parent / "_site", now=FUTURE)


def test_the_clock_is_past_every_date_in_the_sample() -> None:
    assert LATEST >= dt.date(2027, 1, 31)  # the sample's closing dates and events are all behind it
    assert (FUTURE.date() - LATEST).days > 730


def test_closed_challenges_keep_their_ideas_and_have_no_form(future: BuildResult) -> None:
    closed = [c for c in future.views.challenges.values() if c.meta.closes is not None]
    assert closed, "the sample should have challenges with a closing date"
    per_page = future.views.site.config.ideas_per_page
    for challenge in closed:
        assert not challenge.is_open
        soup = page(future.output, challenge.url)
        assert soup.select_one("form#share-form") is None, challenge.slug
        assert rows(soup)["Status"] == "Closed to new ideas"
        assert rows(soup)["Closed"] == f"{challenge.meta.closes.day} {challenge.meta.closes:%B %Y}"
        assert "This challenge is closed to new ideas" in soup.get_text()
        cards = soup.select("#ideas ~ ul.consult-card-list .nhsuk-card__link")
        assert len(cards) == min(per_page, len(challenge.ideas)) > 0
    home = page(future.output, "/").get_text(" ")
    assert "Closed on 31 January 2027" in " ".join(home.split())


def test_the_open_ended_challenge_still_takes_ideas(future: BuildResult) -> None:
    challenge = future.views.challenges[OPEN_ENDED]
    assert challenge.meta.closes is None and challenge.is_open
    soup = page(future.output, challenge.url)
    assert soup.select_one("form#share-form") is not None
    assert rows(soup)["Closes"] == "No closing date: this challenge stays open for ideas"
    share = page(future.output, "/share/")
    offered = [o["value"] for o in share.select("select#challenge option") if o.get("value")]
    assert offered == [OPEN_ENDED]


def test_past_events_move_to_past_and_the_monthly_drop_in_stays_upcoming(future: BuildResult) -> None:
    upcoming, past = future.views.events_split(FUTURE)
    assert [e.slug for e in upcoming] == [DROP_IN]
    assert {e.slug for e in past} == set(future.views.events) - {DROP_IN}
    soup = page(future.output, "/events/")
    listed = [a["href"] for a in soup.find("h2", string="Upcoming").find_next("ul").select("h3 a")]
    assert listed == [f"/events/{DROP_IN}/"]
    drop_in = future.views.events[DROP_IN]
    assert FUTURE < drop_in.end < FUTURE + dt.timedelta(days=40)
    assert drop_in.start.weekday() == 1 and drop_in.start.day <= 7  # the first Tuesday
    shown = rows(page(future.output, drop_in.url))
    assert shown["Repeats"] == "Every month, on the first Tuesday"
    assert shown["Next"].startswith(f"{drop_in.start.day} {drop_in.start:%B %Y}, 12:30")
    home = page(future.output, "/")
    assert [a["href"] for a in home.find("h2", string="Upcoming events").find_next("ul").select("a")] == [f"/events/{DROP_IN}/"]


def test_the_calendar_feed_stays_valid(future: BuildResult) -> None:
    calendar = Calendar.from_ical((future.output / "events.ics").read_bytes())
    assert str(calendar["version"]) == "2.0"
    events = list(calendar.walk("VEVENT"))
    assert len(events) == len(future.views.events)
    for item in events:
        for key in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
            assert key in item, f"{item.get('UID')} has no {key}"
        assert item.decoded("DTEND") > item.decoded("DTSTART")
    repeating = [e for e in events if "RRULE" in e]
    assert [str(e["UID"]).split("@")[0] for e in repeating] == [DROP_IN]
    rule = repeating[0]
    start = rule.decoded("DTSTART")
    series = rrulestr(rule["RRULE"].to_ical().decode(), dtstart=start.replace(tzinfo=None))
    next_start = series.after(FUTURE.astimezone(LONDON).replace(tzinfo=None)).replace(tzinfo=LONDON)
    assert next_start == future.views.events[DROP_IN].start
    zone = calendar.walk("VTIMEZONE")[0]
    changes = [sub.decoded("DTSTART") for sub in zone.subcomponents]
    for sub in zone.subcomponents:
        rdates = sub.get("RDATE", [])
        for rdate in rdates if isinstance(rdates, list) else [rdates]:
            changes += [value.dt for value in rdate.dts]
    assert max(change.year for change in changes) >= FUTURE.year  # London's clock changes reach the dates the feed now shows


def test_the_build_says_when_its_dates_go_stale(future: BuildResult) -> None:
    stamp = json.loads((future.output / STAMP).read_text(encoding="utf-8"))
    until = dt.datetime.fromisoformat(stamp["valid_until"])
    next_midnight = dt.datetime.combine(FUTURE.date() + dt.timedelta(days=1), dt.time(), LONDON)
    assert FUTURE < until <= next_midnight


@pytest.fixture(scope="module")
def future_intake(future: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = make_repo(tmp_path_factory.mktemp("future-intake") / "repo")
    with running_intake(root, future.output, root.parent / "data", run_worker=False, CONSULT_NOW=FUTURE.isoformat()) as running:
        yield running


def test_the_intake_refuses_an_idea_for_a_closed_challenge_naming_its_closing_date(future_intake: Running) -> None:
    typed = {**IDEA, "challenge": "feeling-empowered", "title": "Let ward teams fix small things"}
    with future_intake.client() as client:
        form = client.post("/ideas", data=typed)
        api = client.post("/ideas", json=typed)
    assert form.status_code == 422
    soup = BeautifulSoup(form.text, "html.parser")
    message = " ".join(soup.select_one(".nhsuk-error-summary").get_text().split())
    assert "The challenge ‘Feeling empowered’ closed to new ideas on 31 January 2027. Choose an open challenge" in message
    assert soup.select_one("#title")["value"] == "Let ward teams fix small things"
    assert [o["value"] for o in soup.select("#challenge option") if o.get("value")] == [OPEN_ENDED]  # only what is open is offered
    assert api.status_code == 422
    assert api.json()["errors"]["challenge"].startswith("The challenge ‘Feeling empowered’ closed to new ideas on 31 January 2027")


def test_the_intake_refuses_a_comment_on_a_closed_challenge_naming_the_date(future_intake: Running) -> None:
    idea = min((PROJECT / "content/ideas/feeling-empowered").glob("*.md")).stem
    with future_intake.client() as client:
        response = client.post("/comments", json={"target": f"idea:{idea}", "comment": "We need this too.", "consent": "yes"})
    assert response.status_code == 422
    assert response.json()["errors"]["target"] == "This challenge closed on 31 January 2027, so it no longer takes comments"


def test_the_intake_still_takes_ideas_for_the_open_ended_challenge(future_intake: Running) -> None:
    with future_intake.client() as client:
        response = client.post("/ideas", json={**IDEA, "challenge": OPEN_ENDED})
    assert response.status_code == 202
    record = future_intake.app.state.intake.store.get(response.json()["reference"])
    assert record is not None and record.received_at.date() == FUTURE.astimezone(dt.UTC).date()


def test_a_422_on_the_only_open_challenge_keeps_it_chosen(future_intake: Running) -> None:
    with future_intake.client() as client:
        response = client.post("/ideas", data={**IDEA, "challenge": OPEN_ENDED, "title": ""})
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.select_one("form#share-form input[type=hidden][name=challenge]")["value"] == OPEN_ENDED
    assert soup.select_one("#challenge") is None  # one open challenge: nothing to choose


def test_contact_details_are_purged_when_the_clock_passes_retention(tmp_path: Path) -> None:
    path = tmp_path / "intake.sqlite3"
    received = Store(path, clock=Clock.at(FUTURE))
    reference = received.add_now("idea", {"title": "Kept for a while"}, "sam@example.org")
    received.close()
    for days, purged in ((89, 0), (91, 1)):
        later = Store(path, clock=Clock.at(FUTURE + dt.timedelta(days=days)))
        contacts, _texts = later.purge(dt.timedelta(days=90))
        assert contacts == purged, f"after {days} days"
        assert later.get(reference).has_email is (purged == 0)
        later.close()


def test_a_page_served_by_consult_serve_follows_its_clock(tmp_path: Path) -> None:
    """`consult serve` rebuilds with its own clock: the closed challenge has no form there either."""
    from generator.serve import Rebuilder

    root = copy_sample(tmp_path / "repo")
    rebuild = Rebuilder(root, tmp_path / "site", "http://127.0.0.1:1", clock=Clock.at(FUTURE))
    assert rebuild()
    assert rebuild.stale_at is not None and FUTURE < rebuild.stale_at
    assert page(tmp_path / "site", "/challenges/feeling-empowered/").select_one("form#share-form") is None
