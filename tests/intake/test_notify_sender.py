"""The sender against a fake GOV.UK Notify on 127.0.0.1: each email once, whatever fails or crashes; with the queue
in SQLite and in PostgreSQL (the `store` fixture runs each test on both)."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest
import requests

from generator.config import NotifyTemplates
from generator.errors import ConsultError
from intake.notify.limiter import Limiter
from intake.notify.queue import TEMPLATES, enqueue, required_fields
from intake.notify.sender import Sender
from intake.notify.texts import load_text
from intake.settings import notify_from_environment
from intake.store import Store
from tests.notify_server import FakeNotify

ADDRESS = "nurse.jones@example.nhs.uk"
TEMPLATE_IDS = NotifyTemplates(**{name: str(uuid.uuid4()) for name in TEMPLATES})


def personalisation(template: str, reference: str = "ABC-DEF-123") -> dict[str, str]:
    values = {
        "reference": reference,
        "url": "https://talk.example/ideas/x/",
        "reason": "It repeats an idea already published.",
        "change": "Its status is now: being tested.",
        "unsubscribe_url": f"https://talk.example/intake/unsubscribe/{reference}.sig",
    }
    return {name: values[name] for name in required_fields(template)}


def rows(store: Store) -> dict[str, dict[str, object]]:
    return {r["key"]: dict(r) for r in store.conn.execute("SELECT * FROM notify_messages")}


@pytest.fixture
def notify() -> Iterator[FakeNotify]:
    templates = {getattr(TEMPLATE_IDS, name): load_text(name).placeholders for name in TEMPLATES}
    with FakeNotify(templates=templates, hold=1.5) as server:
        yield server


@pytest.fixture
def store(make_store: Callable[..., Store], tmp_path: Path) -> Store:
    return make_store(tmp_path / "intake" / "intake.sqlite3")


@pytest.fixture(autouse=True)
def no_address_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever happens in a test, no log line holds an address."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        assert ADDRESS not in record.getMessage() and "not-an-address" not in record.getMessage()


def sender(store: Store, notify: FakeNotify, **options: object) -> Sender:
    """A sender for the fake; its 5 s timeout is met only by the faults that hold a request (give those a shorter one).

    A shorter timeout here times out on a busy machine: the outcome is then looked up, a GET the tests do not expect.
    """
    defaults: dict[str, object] = {"retry_base": 0.0, "timeout": 5.0, "lease_seconds": 30.0}
    return Sender(store, TEMPLATE_IDS, "Talk Health and Care", notify.api_key(), notify.url, **{**defaults, **options})  # type: ignore[arg-type]


def test_each_message_is_sent_once_with_its_key_as_reference(store: Store, notify: FakeNotify) -> None:
    for template in TEMPLATES:
        assert enqueue(store, f"ABC-DEF-123:{template}", ADDRESS, template, personalisation(template))
    assert not enqueue(store, "ABC-DEF-123:idea_published", ADDRESS, "idea_published", personalisation("idea_published"))
    assert sender(store, notify).run_once() == len(TEMPLATES)
    assert sender(store, notify).run_once() == 0
    posts = notify.sent()
    assert len(posts) == len(TEMPLATES) and all(p.status == 201 for p in posts)
    first = next(p.body for p in posts if p.body and p.body["reference"] == "ABC-DEF-123:idea_published")
    assert first == {
        "email_address": ADDRESS,
        "template_id": TEMPLATE_IDS.idea_published,
        "personalisation": personalisation("idea_published"),
        "reference": "ABC-DEF-123:idea_published",
        "one_click_unsubscribe_url": personalisation("idea_published")["unsubscribe_url"],
    }
    saved = rows(store)
    assert {r["state"] for r in saved.values()} == {"sent"}
    assert {r["notify_id"] for r in saved.values()} == {n["id"] for n in notify.notifications}


def test_a_claim_left_by_a_crash_is_checked_by_reference_and_sent_once(store: Store, notify: FakeNotify) -> None:
    enqueue(store, "k-crash", ADDRESS, "idea_published", personalisation("idea_published"))
    first = sender(store, notify)
    assert first.claim() is not None  # the process dies here, before any request
    store.conn.execute("UPDATE notify_messages SET next_attempt = 0")  # its lease has run out
    assert sender(store, notify).run_once() == 1
    assert [r.method for r in notify.requests] == ["GET", "POST"]
    assert rows(store)["k-crash"]["state"] == "sent"


def test_a_process_killed_after_sending_and_before_recording_sends_nothing_twice(store: Store, notify: FakeNotify, database_url: str) -> None:
    enqueue(store, "k-killed", ADDRESS, "comment_published", personalisation("comment_published"))
    script = textwrap.dedent(f"""
        import os, uuid
        from pathlib import Path
        from generator.config import NotifyTemplates
        from intake.notify.sender import Sender
        from intake.db import connect
        from intake.store import Store
        path = Path({str(store.path)!r})
        sender = Sender(Store(path, db=connect({database_url!r}, path)), NotifyTemplates(**{TEMPLATE_IDS.model_dump()!r}), "Talk", {notify.api_key()!r}, {notify.url!r}, lease_seconds=1)
        sender._finish = lambda *args, **kwargs: os._exit(9)  # killed between Notify's 201 and the record
        sender.run_once()
    """)
    killed = subprocess.run([sys.executable, "-c", script], check=False, cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=60)
    assert killed.returncode == 9, killed.stderr
    assert len(notify.notifications) == 1 and rows(store)["k-killed"]["state"] == "sending"
    time.sleep(1.1)
    assert sender(store, notify).run_once() == 1
    assert len(notify.sent()) == 1 and len(notify.notifications) == 1
    saved = rows(store)["k-killed"]
    assert saved["state"] == "sent" and saved["notify_id"] == notify.notifications[0]["id"]


def test_500s_and_timeouts_are_retried_and_a_lost_answer_is_not_sent_again(store: Store, notify: FakeNotify) -> None:
    enqueue(store, "k-retry", ADDRESS, "topic_published", personalisation("topic_published"))
    notify.inject("500")
    notify.inject("timeout")
    send = sender(store, notify, timeout=0.5)  # under the fake's hold of 1.5 s
    assert send.run_once() == 1 and rows(store)["k-retry"]["state"] == "queued"
    assert "500 Exception: Internal server error" in str(rows(store)["k-retry"]["error"])
    assert send.run_once() == 1 and rows(store)["k-retry"]["state"] == "queued"  # the lookup timed out
    notify.inject("timeout-after-create", method="POST")
    assert send.run_once() == 1 and rows(store)["k-retry"]["state"] == "queued"  # created, but the answer was lost
    assert send.run_once() == 1
    assert rows(store)["k-retry"]["state"] == "sent" and rows(store)["k-retry"]["attempts"] == 4
    assert len(notify.notifications) == 1
    assert [r.method for r in notify.requests] == ["POST", "GET", "GET", "POST", "GET"]


def test_a_bad_address_is_recorded_and_not_retried(store: Store, notify: FakeNotify) -> None:
    enqueue(store, "k-bad", "not-an-address", "idea_not_published", personalisation("idea_not_published"))
    send = sender(store, notify)
    assert send.run_once() == 1
    saved = rows(store)["k-bad"]
    assert saved["state"] == "failed" and saved["error"] == "400 ValidationError: email_address Not a valid email address"
    assert send.run_once() == 0
    assert len(notify.requests) == 1


def test_after_many_failures_the_sender_gives_up_and_says_so(store: Store, notify: FakeNotify) -> None:
    enqueue(store, "k-down", ADDRESS, "idea_published", personalisation("idea_published"))
    notify.inject("500", times=10)
    send = sender(store, notify, max_attempts=3)
    for _ in range(4):
        send.run_once()
    saved = rows(store)["k-down"]
    assert saved["state"] == "failed" and str(saved["error"]).startswith("gave up after 3 attempts")
    assert notify.notifications == []


def test_a_refused_key_is_logged_with_what_to_do_and_everything_waits(store: Store, notify: FakeNotify, caplog: pytest.LogCaptureFixture) -> None:
    enqueue(store, "k-403", ADDRESS, "idea_published", personalisation("idea_published"))
    enqueue(store, "k-403b", ADDRESS, "topic_published", personalisation("topic_published"))
    wrong = Sender(store, TEMPLATE_IDS, "Talk", notify.api_key(secret=str(uuid.uuid4())), notify.url, retry_base=0.0)
    assert wrong.run_once() == 1  # the first refusal pauses sending: the second is not tried
    assert {r["state"] for r in rows(store).values()} == {"queued"}
    assert "403 AuthError: Invalid token: API key not found" in caplog.text
    assert "Check CONSULT_NOTIFY_API_KEY" in caplog.text and "clock" in caplog.text
    assert sender(store, notify).run_once() == 0  # the pause is shared, through the store
    assert Limiter(store).acquire() > 250


def test_a_429_makes_every_process_wait(store: Store, notify: FakeNotify, caplog: pytest.LogCaptureFixture) -> None:
    enqueue(store, "k-429", ADDRESS, "idea_published", personalisation("idea_published"))
    notify.inject("429")
    assert sender(store, notify).run_once() == 1
    assert rows(store)["k-429"]["state"] == "queued" and "RateLimitError" in caplog.text
    assert 50 < Limiter(store).acquire() <= 60
    store.conn.execute("UPDATE notify_messages SET next_attempt = 0")
    assert sender(store, notify).run_once() == 0  # due, but the pause holds
    assert rows(store)["k-429"]["attempts"] == 1 and len(notify.requests) == 1


def test_the_limiter_keeps_two_senders_within_notifys_limit(store: Store, notify: FakeNotify, make_store: Callable[..., Store]) -> None:
    notify.rate_limit, notify.rate_window = 8, 2.0
    for n in range(16):
        enqueue(store, f"k-{n}", ADDRESS, "idea_published", personalisation("idea_published"))
    other = make_store(store.path)  # a second process's view of the same store
    senders = [
        sender(store, notify, limiter=Limiter(store, limit=8, window=2.0, burst=2)),
        sender(other, notify, limiter=Limiter(other, limit=8, window=2.0, burst=2)),
    ]
    deadline = time.monotonic() + 20
    while any(r["state"] != "sent" for r in rows(store).values()) and time.monotonic() < deadline:
        for one in senders:
            one.run_once()
    assert {r["state"] for r in rows(store).values()} == {"sent"}
    assert len(notify.sent()) == 16 and all(r.status == 201 for r in notify.requests)
    assert sorted(n["reference"] for n in notify.notifications) == sorted(f"k-{n}" for n in range(16))
    assert notify.max_in_window(2.0) <= 8


def test_the_limiter_bucket_refills_at_the_rate_that_honours_the_window(store: Store) -> None:
    now = [1000.0]
    limiter = Limiter(store, limit=10, window=60.0, burst=4, now=lambda: now[0])
    assert [limiter.acquire() for _ in range(4)] == [0.0] * 4
    assert limiter.acquire() == pytest.approx(10.0)  # (10 - 4) per 60 s: one every 10 s
    now[0] += 10.0
    assert Limiter(store, limit=10, window=60.0, burst=4, now=lambda: now[0]).acquire() == 0.0
    limiter.pause(30)
    assert limiter.acquire() == pytest.approx(30.0)


def test_the_fake_refuses_a_stale_or_wrongly_signed_token(notify: FakeNotify) -> None:
    def post(token: str) -> requests.Response:
        return requests.post(f"{notify.url}/v2/notifications/email", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=5)

    stale = jwt.encode({"iss": notify.service_id, "iat": int(time.time()) - 40}, notify.secret, algorithm="HS256")
    assert post(stale).json()["errors"][0]["message"] == "Error: Your system clock must be accurate to within 30 seconds"
    forged = jwt.encode({"iss": notify.service_id, "iat": int(time.time())}, str(uuid.uuid4()), algorithm="HS256")
    assert post(forged).status_code == 403
    stranger = jwt.encode({"iss": str(uuid.uuid4()), "iat": int(time.time())}, notify.secret, algorithm="HS256")
    assert post(stranger).json()["errors"][0]["message"] == "Invalid token: service not found"
    assert requests.get(f"{notify.url}/v2/notifications", timeout=5).status_code == 401


def test_the_fake_refuses_missing_personalisation_and_unknown_fields(store: Store, notify: FakeNotify) -> None:
    enqueue(store, "k-p", ADDRESS, "idea_published", personalisation("idea_published"))
    store.conn.execute('UPDATE notify_messages SET personalisation = \'{"reference": "x", "unsubscribe_url": "https://a.example/u"}\'')
    sender(store, notify).run_once()
    assert rows(store)["k-p"]["error"] == "400 BadRequestError: Missing personalisation: url"


def test_an_api_key_needs_every_template_id(store: Store) -> None:
    with pytest.raises(ConsultError, match="no notify.templates ID for idea_update, topic_published"):
        Sender(store, TEMPLATE_IDS.model_copy(update={"idea_update": None, "topic_published": None}), "Talk", f"k-{uuid.uuid4()}-{uuid.uuid4()}")


def test_a_malformed_api_key_is_refused_without_showing_it() -> None:
    with pytest.raises(ConsultError, match="does not look like a GOV.UK Notify API key") as caught:
        notify_from_environment({"CONSULT_NOTIFY_API_KEY": "secret-but-short"})
    assert "secret-but-short" not in str(caught.value)
    key = f"live-{uuid.uuid4()}-{uuid.uuid4()}"
    assert notify_from_environment({"CONSULT_NOTIFY_API_KEY": key}) == (key, "https://api.notifications.service.gov.uk")
    assert notify_from_environment({"CONSULT_NOTIFY_URL": "http://127.0.0.1:9/"})[1] == "http://127.0.0.1:9"
    with pytest.raises(ConsultError, match="CONSULT_NOTIFY_URL must be"):
        notify_from_environment({"CONSULT_NOTIFY_URL": "api.notifications"})
