"""The queue of emails to send: one row per message in the store's `notify_messages` table.

A message is recorded with its idempotency key before it is sent (the key is
Notify's `reference`), so recording it twice records nothing and the sender can
tell, after a crash, whether it may already have gone.

States: `queued` (waiting, or waiting to be retried at `next_attempt`), `sending`
(claimed by a sender until `next_attempt`; if still there after that, the sender
crashed and Notify is asked by reference before sending again), `sent` (Notify
accepted it), `written` (put in the outbox folder, no API key), `failed`
(a permanent failure, such as an address Notify refuses; never retried).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Mapping

from ..db import Connection
from ..store import Store
from . import outbox

TEMPLATES = (
    "idea_published",
    "idea_not_published",
    "idea_update",
    "comment_published",
    "comment_not_published",
    "topic_published",
    "topic_not_published",
)
"""The emails the intake sends; site.yml's `notify.templates` gives each its Notify template ID."""

COMMON_FIELDS = ("reference", "unsubscribe_url")
"""Personalisation every message carries: the submission's reference and its one-click unsubscribe link."""


def required_fields(template: str) -> tuple[str, ...]:
    """The personalisation a template needs: the common fields, plus `url`, `reason` or `change`."""
    if template.endswith("_not_published"):
        extra: tuple[str, ...] = ("reason",)
    elif template == "idea_update":
        extra = ("url", "change")
    else:
        extra = ("url",)
    return (*COMMON_FIELDS, *extra)


NEVER_EMPTY = ("reference", "unsubscribe_url", "url")
"""Personalisation that must have a value (a reason or a change may be blank: the email still makes sense)."""


def check_message(template: str, personalisation: Mapping[str, str]) -> None:
    """Raise ValueError naming what is wrong with a message before it is recorded."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown Notify template {template!r}: use one of {', '.join(TEMPLATES)}")
    needed = required_fields(template)
    missing = [name for name in needed if name not in personalisation or (name in NEVER_EMPTY and not personalisation[name])]
    if missing:
        raise ValueError(f"the {template} email needs personalisation {', '.join(missing)} (missing or empty)")
    not_text = sorted(name for name, value in personalisation.items() if not isinstance(value, str))
    if not_text:
        raise ValueError(f"personalisation values must be strings; {', '.join(not_text)} are not")


def transaction(store: Store) -> contextlib.AbstractContextManager[Connection]:
    """One write transaction on the store's database (SQLite: BEGIN IMMEDIATE, queued behind this process's other writers)."""
    return store.transaction()


def enqueue(store: Store, key: str, email: str, template: str, personalisation: dict[str, str]) -> bool:
    """Record one message to send, once: `key` is its idempotency key (sent as Notify's `reference`).

    Returns False (and records nothing) when a message with that key was already recorded.
    Raises ValueError for an unknown template, missing personalisation, an empty key or address.
    """
    if not key or len(key) > 200:
        raise ValueError("a message's key must be 1 to 200 characters (it is sent as Notify's reference)")
    if not email.strip():
        raise ValueError("a message needs an email address")
    check_message(template, personalisation)
    created = store.clock.now().astimezone(dt.UTC).isoformat(timespec="microseconds")
    with transaction(store) as conn:
        cur = conn.execute(
            "INSERT INTO notify_messages (key, email, template, personalisation, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (key, email.strip(), template, json.dumps(personalisation, ensure_ascii=False, sort_keys=True), created),
        )
    return cur.rowcount == 1


def forget_address(store: Store, email: str) -> int:
    """Delete every message not yet sent to this address and blank the address on the sent ones; returns how many.

    Its emails in the outbox folder are deleted too.
    """
    address = email.strip().lower()
    with transaction(store) as conn:
        deleted = conn.execute("DELETE FROM notify_messages WHERE lower(email) = ? AND state = 'queued'", (address,)).rowcount
        blanked = conn.execute("UPDATE notify_messages SET email = NULL WHERE lower(email) = ?", (address,)).rowcount
    outbox.forget(outbox.outbox_folder(store.path), address)
    return deleted + blanked


def purge_addresses(store: Store, before: dt.datetime) -> int:
    """Blank the address of every message recorded before `before` (retention), and delete older outbox files."""
    if before.tzinfo is None:
        raise ValueError("purge_addresses needs a time-zone aware moment (the store's clock gives one)")
    cutoff = before.astimezone(dt.UTC).isoformat(timespec="microseconds")
    with transaction(store) as conn:
        blanked = conn.execute("UPDATE notify_messages SET email = NULL WHERE created_at < ? AND email IS NOT NULL", (cutoff,)).rowcount
    outbox.purge(outbox.outbox_folder(store.path), before)
    return blanked
