"""The worker's loop sends the queued emails: through Notify with an API key, into the outbox without one."""

from __future__ import annotations

from pathlib import Path

from intake.catalogue import CatalogueHolder
from intake.notify.outbox import outbox_folder
from intake.notify.queue import TEMPLATES, enqueue, required_fields
from intake.notify.texts import load_text
from intake.settings import IntakeSettings
from intake.store import Store
from intake.worker import Worker, make_forge
from tests.intake.conftest import intake_env, make_repo, wait_for
from tests.notify_server import FakeNotify

ADDRESS = "midwife.ali@example.nhs.uk"
VALUES = {
    "reference": "XYZ-ABC-789",
    "url": "https://talk.example/ideas/a/",
    "reason": "Off topic.",
    "change": "A response.",
    "unsubscribe_url": "https://talk.example/intake/unsubscribe/x",
}


def running_worker(root: Path, data: Path, **env: str) -> tuple[Worker, Store]:
    settings = IntakeSettings.from_environment(root, environ=intake_env(data, **env))
    store = Store.from_settings(settings)
    worker = Worker(settings, store, make_forge(settings), CatalogueHolder(root, settings.clock))
    worker.start()
    return worker, store


def queue_one_of_each(store: Store) -> None:
    for template in TEMPLATES:
        enqueue(store, f"XYZ-ABC-789:{template}", ADDRESS, template, {name: VALUES[name] for name in required_fields(template)})


def test_the_worker_writes_the_outbox_when_there_is_no_api_key(tmp_path: Path) -> None:
    worker, store = running_worker(make_repo(tmp_path / "repo"), tmp_path / "data")
    try:
        queue_one_of_each(store)
        worker.wake.set()
        wait_for(lambda: len(list(outbox_folder(store.path).glob("*.eml"))) == len(TEMPLATES))
    finally:
        worker.stop()


def test_the_worker_sends_through_notify_with_the_template_ids_of_site_yml(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    ids = IntakeSettings.from_environment(root, environ={}).config.notify.templates
    with FakeNotify(templates={getattr(ids, name): load_text(name).placeholders for name in TEMPLATES}) as notify:
        worker, store = running_worker(root, tmp_path / "data", CONSULT_NOTIFY_API_KEY=notify.api_key(), CONSULT_NOTIFY_URL=notify.url)
        try:
            queue_one_of_each(store)
            worker.wake.set()
            wait_for(lambda: {r["state"] for r in store.conn.execute("SELECT state FROM notify_messages")} == {"sent"})
        finally:
            worker.stop()
        assert len(notify.sent()) == len(TEMPLATES)
        assert {r.body["template_id"] for r in notify.sent() if r.body} == {getattr(ids, name) for name in TEMPLATES}
        assert not outbox_folder(store.path).exists()
