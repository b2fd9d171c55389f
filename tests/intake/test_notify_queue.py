"""The queue of emails: each message recorded once under its key, forgotten and purged on demand.

The store-level tests run on both engines (the `store` and `make_store` fixtures of tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.clock import Clock
from generator.config import NotifyTemplates
from generator.loader import load_config
from intake.notify.queue import TEMPLATES, enqueue, forget_address, purge_addresses, required_fields
from intake.store import Store
from tests.conftest import PROJECT

ADDRESS = "someone@example.nhs.uk"


def personalisation(template: str) -> dict[str, str]:
    """Every field the template needs, with a recognisable value."""
    return {name: f"{name} value" for name in required_fields(template)}


def rows(store: Store) -> list[dict[str, object]]:
    return [dict(r) for r in store.conn.execute("SELECT * FROM notify_messages ORDER BY key")]


def test_a_message_is_recorded_once_under_its_key(store: Store) -> None:
    assert enqueue(store, "ABC-123:published", ADDRESS, "idea_published", personalisation("idea_published")) is True
    assert enqueue(store, "ABC-123:published", "other@example.nhs.uk", "idea_published", personalisation("idea_published")) is False
    [row] = rows(store)
    assert row["email"] == ADDRESS and row["state"] == "queued" and row["attempts"] == 0
    assert json.loads(str(row["personalisation"])) == personalisation("idea_published")


def test_every_template_needs_its_reference_link_and_unsubscribe_link(store: Store) -> None:
    for template in TEMPLATES:
        assert {"reference", "unsubscribe_url"} <= set(required_fields(template))
    assert "reason" in required_fields("comment_not_published")
    assert "change" in required_fields("idea_update")
    assert "url" in required_fields("topic_published")


def test_a_message_with_missing_personalisation_is_refused_by_name(store: Store) -> None:
    fields = personalisation("idea_not_published")
    del fields["reason"]
    with pytest.raises(ValueError, match="needs personalisation reason"):
        enqueue(store, "k1", ADDRESS, "idea_not_published", fields)
    with pytest.raises(ValueError, match="needs personalisation unsubscribe_url"):
        enqueue(store, "k0", ADDRESS, "idea_published", {**personalisation("idea_published"), "unsubscribe_url": ""})
    with pytest.raises(ValueError, match="unknown Notify template 'idea_liked'"):
        enqueue(store, "k2", ADDRESS, "idea_liked", fields)
    with pytest.raises(ValueError, match="must be strings"):
        enqueue(store, "k3", ADDRESS, "idea_published", {**personalisation("idea_published"), "url": 3})  # type: ignore[dict-item]
    assert rows(store) == []
    assert enqueue(store, "k4", ADDRESS, "idea_not_published", {**fields, "reason": ""})  # a blank reason is allowed


def test_forgetting_an_address_deletes_what_is_not_sent_and_blanks_the_rest(store: Store) -> None:
    for key in ("a", "b", "c"):
        enqueue(store, key, ADDRESS, "idea_published", personalisation("idea_published"))
    enqueue(store, "d", "else@example.nhs.uk", "idea_published", personalisation("idea_published"))
    store.conn.execute("UPDATE notify_messages SET state = 'sent' WHERE key = 'a'")
    assert forget_address(store, "Someone@Example.NHS.uk ") == 3
    left = {r["key"]: r["email"] for r in rows(store)}
    assert left == {"a": None, "d": "else@example.nhs.uk"}


def test_purge_blanks_addresses_recorded_before_the_cut_off(make_store: Callable[..., Store]) -> None:
    then = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    old = make_store(clock=Clock.at(then))
    enqueue(old, "old", ADDRESS, "idea_published", personalisation("idea_published"))
    new = make_store(clock=Clock.at(then + dt.timedelta(days=40)))
    enqueue(new, "new", ADDRESS, "idea_published", personalisation("idea_published"))
    assert purge_addresses(new, then + dt.timedelta(days=30)) == 1
    assert {r["key"]: r["email"] for r in rows(new)} == {"old": None, "new": ADDRESS}
    assert purge_addresses(new, then + dt.timedelta(days=30)) == 0


def test_site_yml_declares_one_template_id_per_email_and_refuses_what_is_not_an_id(tmp_path: Path) -> None:
    assert tuple(NotifyTemplates.model_fields) == TEMPLATES
    config, problems = load_config(PROJECT)
    assert problems == [] and all(getattr(config.notify.templates, name) for name in TEMPLATES)
    text = (PROJECT / "site.yml").read_text(encoding="utf-8")
    (tmp_path / "site.yml").write_text(text.replace("00000000-0000-4000-8000-000000000003", "idea-update-template"), encoding="utf-8")
    _, problems = load_config(tmp_path)
    assert [p.key for p in problems] == ["notify.templates.idea_update"]
    assert "not a GOV.UK Notify template ID" in problems[0].message
