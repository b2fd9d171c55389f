"""Notify events with the local forge: what is emailed, to whom, once; unsubscribe; purge; no address anywhere else."""

from __future__ import annotations

import datetime as dt
import json
import logging
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from generator.cli import main
from generator.errors import ConsultError
from intake.catalogue import CatalogueHolder
from intake.forge.local import LocalGitForge
from intake.keys import KEY_FILE
from intake.notify.links import link_key, token
from intake.notify.queue import enqueue
from intake.notify.subscriptions import is_subscribed, subscribe, subscriptions
from intake.settings import IntakeSettings
from intake.store import Store
from intake.worker import Worker

from .conftest import IDEA, Running, git, intake_env, wait_for

ADDRESS = "sam.jones@example.nhs.uk"
IDEA_PATH = "content/ideas/getting-the-basics-right/water-fountains-on-every-ward-corridor.md"
PUBLIC = {k: v for k, v in IDEA.items() if k not in ("email", "notify", "consent", "website")}


@dataclass
class Setup:
    repo: Path
    settings: IntakeSettings
    store: Store
    forge: LocalGitForge
    worker: Worker

    def send(self, kind: str = "idea", fields: dict[str, str] | None = None, email: str | None = ADDRESS) -> str:
        """A submission as the form stores it, with its subscription, proposed to the editors."""
        reference = self.store.add_now(kind, fields or PUBLIC, None)
        if email:
            subscribe(self.store, reference, kind, email)
        self.worker.run_once()
        return reference

    def decide(self) -> int:
        """The worker's pass: decisions from the forge, then the emails they call for."""
        self.worker.sync()
        return self.worker.events.run_once(look_now=True)

    def messages(self) -> list[dict[str, object]]:
        rows = self.store.conn.execute("SELECT key, email, template, personalisation FROM notify_messages ORDER BY created_at, key").fetchall()
        return [{**dict(r), "personalisation": json.loads(r["personalisation"])} for r in rows]

    def edit_on_main(self, path: str, old: str, new: str) -> None:
        """An editor changes a published file and commits it to main."""
        file = self.repo / path
        file.write_text(file.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
        git(self.repo, "commit", "-q", "-am", f"Edit {path}")


@pytest.fixture
def setup(repo: Path, tmp_path: Path) -> Iterator[Setup]:
    settings = IntakeSettings.from_environment(repo, environ=intake_env(tmp_path / "data"), base_url="https://talk.example.nhs.uk")
    store = Store.from_settings(settings)
    forge = LocalGitForge(repo, "main")
    worker = Worker(settings, store, forge, CatalogueHolder(repo, settings.clock))
    yield Setup(repo, settings, store, forge, worker)
    store.close()


def test_a_published_idea_is_emailed_once_with_its_link_and_an_unsubscribe_link(setup: Setup) -> None:
    reference = setup.send()
    assert setup.decide() == 0, "nothing to tell while the editors have it"
    setup.forge.accept(reference)
    assert setup.decide() == 1
    [message] = setup.messages()
    assert message["key"] == f"{reference}:published" and message["template"] == "idea_published" and message["email"] == ADDRESS
    fields = message["personalisation"]
    assert fields["url"] == "https://talk.example.nhs.uk/ideas/water-fountains-on-every-ward-corridor/"
    assert fields["reference"] == reference
    assert fields["unsubscribe_url"].startswith(f"https://talk.example.nhs.uk/intake/unsubscribe/{reference}/")
    for _ in range(3):
        assert setup.decide() == 0, "detecting again sends nothing new"
    assert len(setup.messages()) == 1


def test_a_rejected_idea_is_emailed_with_the_public_reason_and_its_address_goes(setup: Setup) -> None:
    reference = setup.send()
    setup.forge.reject(reference, "It names a member of staff.")
    assert setup.decide() == 1
    [message] = setup.messages()
    assert message["template"] == "idea_not_published" and message["personalisation"]["reason"] == "It names a member of staff."
    assert not is_subscribed(setup.store, reference), "nothing more to tell: the subscription is deleted"
    assert setup.decide() == 0 and len(setup.messages()) == 1


def test_comments_and_topics_are_emailed_when_decided(setup: Setup) -> None:
    comment = setup.send("comment", {"target": "idea:hot-food-for-staff-working-nights", "comment": "Yes, and a microwave.", "name": ""})
    topic = setup.send(
        "topic", {"challenge": "getting-the-basics-right", "title": "Lockers that work", "post": "Ours have been broken for a year.", "name": ""}
    )
    setup.forge.accept(comment)
    setup.forge.reject(topic, "A topic on this already exists.")
    assert setup.decide() == 2
    by_key = {m["key"]: m for m in setup.messages()}
    published = by_key[f"{comment}:published"]
    assert published["template"] == "comment_published"
    assert published["personalisation"]["url"] == "https://talk.example.nhs.uk/ideas/hot-food-for-staff-working-nights/#discussion"
    assert by_key[f"{topic}:not-published"]["template"] == "topic_not_published"
    assert subscriptions(setup.store) == []
    assert setup.decide() == 0


def test_status_response_and_linked_update_of_a_published_idea_are_each_emailed_once(setup: Setup) -> None:
    reference = setup.send()
    setup.forge.accept(reference)
    setup.decide()

    setup.edit_on_main(IDEA_PATH, "status: waiting", "status: under-consideration")
    assert setup.decide() == 1
    change = setup.messages()[-1]
    assert change["template"] == "idea_update"
    assert change["personalisation"]["change"] == "Your idea has news: its status changed from ‘Waiting for a response’ to ‘Under consideration’."
    assert change["personalisation"]["url"] == "https://talk.example.nhs.uk/ideas/water-fountains-on-every-ward-corridor/"
    assert setup.decide() == 0

    response = "status: adopted\nresponse:\n  date: 2026-12-01\n  by: Estates team\n  text: Every ward corridor gets a fountain by March.\n"
    setup.edit_on_main(IDEA_PATH, "status: under-consideration\n", response)
    assert setup.decide() == 1
    assert setup.messages()[-1]["personalisation"]["change"] == (
        "Your idea has news: its status changed from ‘Under consideration’ to ‘Adopted’ and the organisation responded to it on 1 December 2026."
    )
    setup.edit_on_main(IDEA_PATH, "Every ward corridor", "Each ward corridor")
    assert setup.decide() == 0, "a corrected response (same date) is not news"

    update = setup.repo / "content/updates/water-on-every-ward.md"
    update.write_text(
        '---\ntitle: "You said, we did: water on every ward"\ndate: 2026-12-02\n'
        'summary: "Fountains are going in on every ward corridor, starting this month."\n'
        "ideas:\n  - water-fountains-on-every-ward-corridor\n---\n\nThe estates team has started.\n",
        encoding="utf-8",
    )
    git(setup.repo, "add", "-A")
    git(setup.repo, "commit", "-q", "-m", "An update")
    assert setup.decide() == 1
    news = setup.messages()[-1]
    assert news["key"] == f"{reference}:you-said-we-did:water-on-every-ward"
    assert news["personalisation"]["url"] == "https://talk.example.nhs.uk/updates/water-on-every-ward/"
    assert "You said, we did: water on every ward" in news["personalisation"]["change"]
    assert setup.decide() == 0

    setup.edit_on_main(IDEA_PATH, "status: adopted", "status: responded")
    setup.edit_on_main(IDEA_PATH, "status: responded", "status: adopted")
    assert setup.decide() == 0, "changed and changed back between two looks: nothing to tell"
    assert [m["key"].split(":")[1] for m in setup.messages()] == ["published", "update", "update", "you-said-we-did"]


def test_a_crash_between_recording_and_the_snapshot_sends_nothing_twice(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = setup.send()
    setup.forge.accept(reference)
    setup.decide()
    setup.edit_on_main(IDEA_PATH, "status: waiting", "status: under-consideration")

    def crash(*args: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr("intake.notify.events.save_snapshot", crash)
    with pytest.raises(RuntimeError):
        setup.worker.events.run_once(look_now=True)
    monkeypatch.undo()
    assert setup.decide() == 0, "the message was recorded before the crash, under the same key"
    assert len(setup.messages()) == 2


def unsubscribe_path(setup: Setup, reference: str) -> str:
    return f"/unsubscribe/{reference}/{token(link_key(setup.settings), reference)}"


def test_the_unsubscribe_link_deletes_the_address_at_once(quiet_intake: Running) -> None:
    intake = quiet_intake.app.state.intake
    with quiet_intake.client() as client:
        first = client.post("/ideas", data={**IDEA, "email": ADDRESS}).headers["location"].rsplit("/", 1)[1]
        second = client.post("/ideas", data={**IDEA, "title": "A second idea", "email": ADDRESS.upper()}).headers["location"].rsplit("/", 1)[1]
        other = (
            client.post("/ideas", data={**IDEA, "title": "Someone else's idea", "email": "other@example.nhs.uk"})
            .headers["location"]
            .rsplit("/", 1)[1]
        )
        enqueue(intake.store, f"{first}:published", ADDRESS, "idea_published", {"reference": first, "unsubscribe_url": "x", "url": "y"})
        link = f"/unsubscribe/{first}/{token(link_key(intake.settings), first)}"

        tampered = client.get(link[:-1] + ("A" if link[-1] != "A" else "B"))
        assert tampered.status_code == 400
        page = BeautifulSoup(tampered.text, "html.parser")
        assert page.select_one("h1").get_text(strip=True) == "This link to stop emails does not work"
        assert is_subscribed(intake.store, first)
        for bad in (f"/unsubscribe/TH-NOPE/{'x' * 32}", f"/unsubscribe/{first}/short", f"/unsubscribe/{first}/%F0%9F%98%80"):
            assert client.get(bad).status_code == 400, bad

        for attempt in range(2):  # opening it again says the same
            done = client.get(link)
            assert done.status_code == 200 and done.headers["cache-control"] == "no-store", attempt
            page = BeautifulSoup(done.text, "html.parser")
            assert page.select_one("h1").get_text(strip=True) == "You will not get any more emails"
            assert ADDRESS not in done.text
        assert not is_subscribed(intake.store, first) and not is_subscribed(intake.store, second), "every subscription of that address"
        assert is_subscribed(intake.store, other)
        assert intake.store.conn.execute("SELECT COUNT(*) AS n FROM notify_messages WHERE email IS NOT NULL").fetchone()["n"] == 0

        one_click = f"/unsubscribe/{other}/{token(link_key(intake.settings), other)}"
        answer = client.post(
            one_click, content=b"List-Unsubscribe=One-Click", headers={"Origin": "", "Content-Type": "application/x-www-form-urlencoded"}
        )
        assert answer.status_code == 200 and not is_subscribed(intake.store, other), "one-click unsubscribe by POST, from a mail program"


def test_unsubscribe_links_survive_a_restart_without_a_secret(repo: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in intake_env(tmp_path / "data").items() if k != "CONSULT_INTAKE_SECRET"}
    first = IntakeSettings.from_environment(repo, environ=env)
    second = IntakeSettings.from_environment(repo, environ=env)
    assert first.secret_generated and first.secret != second.secret, "two processes, two random rate-limit keys"
    assert token(link_key(first), "TH-7QK2M") == token(link_key(second), "TH-7QK2M")
    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with_secret = IntakeSettings.from_environment(repo, environ=intake_env(tmp_path / "data"))
    assert token(link_key(with_secret), "TH-7QK2M") != token(link_key(first), "TH-7QK2M")
    key_file.write_text("not a key\n", encoding="ascii")
    with pytest.raises(
        ConsultError, match="intake.key: cannot read the key that signs unsubscribe links and supporter cookies .*set CONSULT_INTAKE_SECRET"
    ):
        link_key(first)


def test_purge_deletes_addresses_past_retention(setup: Setup) -> None:
    old = setup.send()
    new = setup.send(fields={**PUBLIC, "title": "A newer idea"}, email="newer@example.nhs.uk")
    enqueue(setup.store, f"{old}:published", ADDRESS, "idea_published", {"reference": old, "unsubscribe_url": "x", "url": "y"})
    moment = (setup.settings.clock.now() - dt.timedelta(days=91)).astimezone(dt.UTC).isoformat(timespec="microseconds")
    with setup.store.transaction() as conn:
        conn.execute("UPDATE notify_subscriptions SET created_at = ? WHERE reference = ?", (moment, old))
        conn.execute("UPDATE notify_messages SET created_at = ?", (moment,))
    result = CliRunner().invoke(main, ["--root", str(setup.repo), "intake", "purge", "--older-than", "90d"], env=intake_env(setup.settings.data_dir))
    assert result.exit_code == 0, result.output
    assert "Deleted 2 email address(es)" in result.output
    assert [s.reference for s in subscriptions(setup.store)] == [new]
    if setup.settings.database_url:  # PostgreSQL: no row holds it (its pages are vacuumed later, see handbook database.md)
        kept = {
            row["email"]
            for table in ("notify_subscriptions", "notify_messages", "submissions")
            for row in setup.store.conn.execute(f"SELECT email FROM {table} WHERE email IS NOT NULL").fetchall()
        }
        assert ADDRESS not in kept and "newer@example.nhs.uk" in kept
        return
    raw = b"".join(p.read_bytes() for p in setup.settings.data_dir.iterdir() if p.is_file())
    assert ADDRESS.encode() not in raw, "no copy left in the database or its WAL"
    assert b"newer@example.nhs.uk" in raw


@pytest.mark.parametrize(
    ("path", "base", "ids"),
    [
        ("/ideas", IDEA, ("email", "notify")),
        (
            "/comments",
            {"target": "idea:hot-food-for-staff-working-nights", "comment": "Yes please.", "name": "", "consent": "yes", "website": ""},
            ("comment-email", "comment-notify"),
        ),
        (
            "/topics",
            {"challenge": "getting-the-basics-right", "title": "Lockers", "post": "Ours are broken.", "name": "", "consent": "yes", "website": ""},
            ("topic-email", "topic-notify"),
        ),
    ],
)
def test_the_email_and_its_box_go_together_and_errors_keep_what_was_typed(
    quiet_intake: Running, path: str, base: dict[str, str], ids: tuple[str, str]
) -> None:
    what = {"/ideas": "idea", "/comments": "comment", "/topics": "topic"}[path]
    cases = [
        ({"email": ADDRESS, "notify": ""}, ids[1], f"Tick the box to get emails about your {what}, or leave the email address empty"),
        ({"email": "", "notify": "yes"}, ids[0], f"Enter your email address to get emails about your {what}, or untick the box"),
        ({"email": "sam@", "notify": "yes"}, ids[0], "Enter an email address in the correct format, like name@example.com"),
    ]
    with quiet_intake.client() as client:
        for change, field, message in cases:
            response = client.post(path, data={**base, **change})
            assert response.status_code == 422, change
            page = BeautifulSoup(response.text, "html.parser")
            summary = page.select_one(".nhsuk-error-summary")
            link = summary.select_one(f"a[href='#{field}']")
            assert link is not None and link.get_text(strip=True) == message, (change, summary)
            assert page.select_one(f"#{ids[0]}")["value"] == change["email"]
            assert (page.select_one(f"#{ids[1]}").get("checked") is not None) == bool(change["notify"])
            typed = base.get("title") or base.get("comment")
            assert typed in response.text, "the rest of the form is kept too"
        sent = client.post(path, data={**base, "email": ADDRESS, "notify": "yes"})
        assert sent.status_code == 303
        without = client.post(path, data={**base, "email": "", "notify": ""})
        assert without.status_code == 303
    store = quiet_intake.app.state.intake.store
    reference, other = (r.headers["location"].rsplit("/", 1)[1] for r in (sent, without))
    assert [(s.reference, s.email, s.kind) for s in subscriptions(store)] == [(reference, ADDRESS, what)]
    row = store.conn.execute("SELECT fields, email FROM submissions WHERE reference = ?", (reference,)).fetchone()
    assert row["email"] is None and ADDRESS not in row["fields"] and "notify" not in json.loads(row["fields"])
    assert not is_subscribed(store, other)


def test_no_address_in_git_pages_logs_or_open_data(setup: Setup, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from generator.build import build

    caplog.set_level(logging.DEBUG)
    reference = setup.send()
    setup.forge.accept(reference)
    setup.decide()
    setup.edit_on_main(IDEA_PATH, "status: waiting", "status: under-consideration")
    setup.decide()
    assert len(setup.messages()) == 2
    history = subprocess.run(["git", "-C", str(setup.repo), "log", "--all", "-p", "--format=%H %an %ae%n%B"], capture_output=True, check=True).stdout
    assert b"sam.jones" not in history and ADDRESS.encode() not in history
    refs = subprocess.run(["git", "-C", str(setup.repo), "for-each-ref", "--format=%(refname) %(contents)"], capture_output=True, check=True).stdout
    assert ADDRESS.encode() not in refs
    out = tmp_path / "_site"
    build(setup.repo, out, now=setup.settings.clock.now())
    assert (out / "ideas" / "water-fountains-on-every-ward-corridor" / "index.html").exists()
    for file in out.rglob("*"):
        if file.is_file() and file.suffix in (".html", ".json", ".csv", ".xml", ".ics", ".txt", ".js"):
            assert ADDRESS not in file.read_text(encoding="utf-8", errors="replace"), file
    assert ADDRESS not in caplog.text and "sam.jones" not in caplog.text


def test_the_running_worker_records_the_email_when_an_editor_accepts(intake: Running) -> None:
    with intake.client() as client:
        reference = client.post("/ideas", data=IDEA).headers["location"].rsplit("/", 1)[1]
        confirmation = client.get(f"/confirmation/{reference}").text
    assert "We will email you when your idea is published or not published, and when it is answered" in confirmation
    store = intake.app.state.intake.store
    wait_for(lambda: store.get(reference).state == "proposed")
    LocalGitForge(intake.settings.root, "main").accept(reference)
    row = wait_for(lambda: store.conn.execute("SELECT template, email FROM notify_messages WHERE key = ?", (f"{reference}:published",)).fetchone())
    assert (row["template"], row["email"]) == ("idea_published", IDEA["email"])


def test_a_bad_check_interval_is_named() -> None:
    from intake.notify.events import check_seconds

    assert check_seconds("") == 60 and check_seconds("0.5") == 0.5
    for bad in ("soon", "-1", "inf", "nan"):
        with pytest.raises(ConsultError, match="CONSULT_NOTIFY_CHECK_SECONDS must be a number of seconds"):
            check_seconds(bad)
