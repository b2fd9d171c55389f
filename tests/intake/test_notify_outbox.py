"""With no Notify API key: each email written once as a readable .eml file, listed by `consult intake outbox`."""

from __future__ import annotations

import datetime as dt
import email.policy
import uuid
from collections.abc import Callable
from email.parser import BytesParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.clock import Clock
from generator.config import NotifyTemplates
from intake.notify.outbox import outbox_folder
from intake.notify.queue import TEMPLATES, enqueue, forget_address, purge_addresses, required_fields
from intake.notify.sender import Sender
from intake.notify.texts import TEMPLATE_DIR, load_text
from intake.store import Store
from tests.conftest import PROJECT

ADDRESS = "porter.smith@example.nhs.uk"


def personalisation(template: str) -> dict[str, str]:
    values = {
        "reference": "QRS-TUV-456",
        "url": "http://localhost:8000/ideas/better-rotas/",
        "reason": "It names a colleague.",
        "change": "An editor responded.",
        "unsubscribe_url": "http://localhost:8000/intake/unsubscribe/token",
    }
    return {name: values[name] for name in required_fields(template)}


@pytest.fixture
def store(make_store: Callable[..., Store], tmp_path: Path) -> Store:
    return make_store(tmp_path / "intake" / "intake.sqlite3", clock=Clock.at(dt.datetime(2030, 3, 1, 9, 30, tzinfo=dt.UTC)))


def outbox_sender(store: Store) -> Sender:
    return Sender(store, NotifyTemplates(idea_published=str(uuid.UUID(int=1))), "Talk Health and Care")


def test_every_template_text_has_a_subject_and_exactly_the_placeholders_its_messages_carry() -> None:
    assert sorted(p.stem for p in TEMPLATE_DIR.glob("*.txt")) == sorted(TEMPLATES)
    for name in TEMPLATES:
        text = load_text(name)
        assert text.subject and "((" not in text.subject
        assert text.placeholders == set(required_fields(name)), name


def test_the_handbook_gives_editors_exactly_the_texts_the_outbox_uses() -> None:
    page = (PROJECT / "handbook" / "docs" / "team" / "notify.md").read_text(encoding="utf-8")
    for name in TEMPLATES:
        text = load_text(name)
        assert f"```text\n{text.subject}\n```" in page, name
        assert f"```text\n{text.body.rstrip()}\n```" in page, name
    assert "Set up GOV.UK Notify: team/notify.md" in (PROJECT / "handbook" / "mkdocs.yml").read_text(encoding="utf-8")


def test_each_email_is_written_once_as_a_readable_eml_file(store: Store) -> None:
    enqueue(store, "QRS-TUV-456:published", ADDRESS, "idea_published", personalisation("idea_published"))
    enqueue(store, "QRS-TUV-456:update-1", ADDRESS, "idea_update", personalisation("idea_update"))
    assert outbox_sender(store).run_once() == 2
    assert outbox_sender(store).run_once() == 0
    files = sorted(outbox_folder(store.path).glob("*.eml"))
    assert [f.name.split("-", 2)[2].rsplit("-", 1)[0] for f in files] == ["QRS-TUV-456-published", "QRS-TUV-456-update-1"]
    assert all(f.name.startswith("20300301-093000-") for f in files)
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"
    message = BytesParser(policy=email.policy.default).parse(files[0].open("rb"))
    assert message["To"] == ADDRESS and message["Subject"] == "Your idea is published on Talk Health and Care"
    assert message["List-Unsubscribe"] == "<http://localhost:8000/intake/unsubscribe/token>"
    assert message["X-Notify-Template"] == f"idea_published ({uuid.UUID(int=1)})"
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "http://localhost:8000/ideas/better-rotas/" in body and "Your reference is QRS-TUV-456." in body
    assert "((" not in body and "Stop these emails: http://localhost:8000/intake/unsubscribe/token" in body
    states = {r["key"]: (r["state"], r["notify_id"]) for r in store.conn.execute("SELECT * FROM notify_messages")}
    assert states["QRS-TUV-456:published"] == ("written", files[0].name)


def test_an_unexpected_error_is_retried_then_given_up_and_recorded(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    enqueue(store, "broken", ADDRESS, "idea_published", personalisation("idea_published"))
    store.conn.execute('UPDATE notify_messages SET personalisation = \'{"reference": "x", "unsubscribe_url": "u"}\'')
    sender = Sender(store, NotifyTemplates(), "Talk", retry_base=0.0, max_attempts=2)
    assert sender.run_once() == 1 and sender.run_once() == 1 and sender.run_once() == 0
    [row] = store.conn.execute("SELECT state, error FROM notify_messages").fetchall()
    state, error = row["state"], row["error"]
    assert state == "failed" and error == "gave up after 2 attempts: KeyError: 'the idea_published template needs personalisation url'"
    assert "Could not send email broken (attempt 1)" in caplog.text and ADDRESS not in caplog.text


def test_forgetting_or_purging_an_address_deletes_its_outbox_files(store: Store) -> None:
    enqueue(store, "a", ADDRESS, "topic_published", personalisation("topic_published"))
    enqueue(store, "b", "other@example.nhs.uk", "topic_not_published", personalisation("topic_not_published"))
    outbox_sender(store).run_once()
    forget_address(store, ADDRESS.upper())
    assert [p.name.split("-")[2] for p in outbox_folder(store.path).glob("*.eml")] == ["b"]
    purge_addresses(store, dt.datetime(2030, 3, 2, tzinfo=dt.UTC))
    assert list(outbox_folder(store.path).glob("*.eml")) == []


def test_consult_intake_outbox_lists_and_shows_the_emails(store: Store) -> None:
    runner = CliRunner()
    env = {"CONSULT_INTAKE_DATA": str(store.path.parent), "CONSULT_NOTIFY_API_KEY": ""}
    empty = runner.invoke(main, ["--root", str(PROJECT), "intake", "outbox"], env=env)
    assert empty.exit_code == 0 and "is empty" in empty.output
    enqueue(store, "QRS-TUV-456:closed", ADDRESS, "comment_not_published", personalisation("comment_not_published"))
    outbox_sender(store).run_once()
    listed = runner.invoke(main, ["--root", str(PROJECT), "intake", "outbox"], env=env)
    assert listed.exit_code == 0, listed.output
    header, line = listed.output.splitlines()[:2]
    assert header.split() == ["Date", "(UTC)", "To", "Subject", "File"]
    name = next(outbox_folder(store.path).glob("*.eml")).name
    assert line.startswith("2030-03-01 09:30  porter.smith@example.nhs.uk  Your comment was not published on Talk Health and Care")
    assert line.endswith(name) and "1 email(s) in" in listed.output
    shown = runner.invoke(main, ["--root", str(PROJECT), "intake", "outbox", name], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Subject: Your comment was not published on Talk Health and Care" in shown.output
    assert "^ It names a colleague." in shown.output
    (outbox_folder(store.path) / "by-hand.eml").write_text("Subject: no date\n\nA file someone put there.\n")
    assert "by-hand.eml" in runner.invoke(main, ["--root", str(PROJECT), "intake", "outbox"], env=env).output
    missing = runner.invoke(main, ["--root", str(PROJECT), "intake", "outbox", "nothing.eml"], env=env)
    assert missing.exit_code == 1 and "No email 'nothing.eml' in the outbox" in missing.output
