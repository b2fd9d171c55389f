"""The publisher worker while the database cannot be reached: one warning per outage, not a traceback each poll."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from intake.catalogue import CatalogueHolder
from intake.db import DatabaseUnavailable
from intake.settings import IntakeSettings
from intake.store import Store
from intake.worker import Worker

from .conftest import intake_env, make_repo, wait_for


def test_an_outage_is_logged_once_and_its_end_too(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    repo = make_repo(tmp_path / "repo")
    settings = IntakeSettings.from_environment(repo, environ=intake_env(tmp_path / "data", CONSULT_INTAKE_SYNC_SECONDS="3600"))
    store = Store.from_settings(settings)
    worker = Worker(settings, store, object(), CatalogueHolder(repo))  # type: ignore[arg-type]  # the forge is never reached
    calls = {"n": 0}
    recovered = threading.Event()

    def publish_due() -> None:
        calls["n"] += 1
        if calls["n"] <= 6:
            raise DatabaseUnavailable("could not reach PostgreSQL at postgresql://intake@db.invalid/consult")
        recovered.set()

    worker.publish_due = publish_due  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="consult.intake")
    thread = threading.Thread(target=worker.run, kwargs={"poll": 0.01}, daemon=True)
    thread.start()
    try:
        wait_for(recovered.is_set, timeout=20)
    finally:
        worker.stop_event.set()
        worker.wake.set()
        thread.join(timeout=10)
    messages = [r.getMessage() for r in caplog.records if r.name == "consult.intake"]
    down = [m for m in messages if "cannot reach the database" in m]
    assert len(down) == 1, messages
    assert "db.invalid" in down[0]
    assert any("answers again" in m for m in messages)
    assert not [r for r in caplog.records if r.exc_info], "no traceback for an outage"
