"""Who asked to be emailed about what: one row per submission reference in `notify_subscriptions`.

A row holds the address a person gave with their consent, for the one
submission they sent, and a snapshot of what they were last told (so each
change is announced once). The address lives only here and in the queue of
messages (queue.py): never in `submissions.fields`, git, a pull request, a
page, a log line or an export. A row goes when there is nothing more to tell
(a comment or topic decided, an idea not published), when the person
unsubscribes, and at `moderation.retention_days` after it was given.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from ..store import Store
from .queue import forget_address, transaction


@dataclass(frozen=True)
class Subscription:
    reference: str
    kind: str
    """idea | comment | topic"""
    email: str
    created_at: dt.datetime
    snapshot: dict[str, Any] = field(default_factory=dict)
    """What the person was last told: see events.py."""


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def subscribe(store: Store, reference: str, kind: str, email: str) -> None:
    """Keep the address given (with consent) for one submission; committed before the person is thanked."""
    with transaction(store) as conn:
        conn.execute(
            "INSERT INTO notify_subscriptions (reference, kind, email, created_at, snapshot) VALUES (?, ?, ?, ?, '{}') "
            "ON CONFLICT (reference) DO UPDATE SET kind = excluded.kind, email = excluded.email, created_at = excluded.created_at, snapshot = excluded.snapshot",
            (reference, kind, email.strip(), _utc(store.clock.now())),
        )


def is_subscribed(store: Store, reference: str) -> bool:
    with store.db.read() as conn:
        return conn.execute("SELECT 1 AS found FROM notify_subscriptions WHERE reference = ?", (reference,)).fetchone() is not None


def subscriptions(store: Store, decided_only: bool = False) -> list[Subscription]:
    """Every subscription, oldest first; with `decided_only`, those whose submission editors decided (or that is gone)."""
    where = " WHERE s.state IS NULL OR s.state IN ('merged', 'closed')" if decided_only else ""
    with store.db.read() as conn:
        rows = conn.execute(
            "SELECT n.* FROM notify_subscriptions n LEFT JOIN submissions s ON s.reference = n.reference"
            + where
            + " ORDER BY n.created_at, n.reference"
        ).fetchall()
    return [
        Subscription(r["reference"], r["kind"], r["email"], dt.datetime.fromisoformat(r["created_at"]), json.loads(r["snapshot"] or "{}"))
        for r in rows
    ]


def save_snapshot(store: Store, reference: str, snapshot: dict[str, Any]) -> None:
    with transaction(store) as conn:
        conn.execute("UPDATE notify_subscriptions SET snapshot = ? WHERE reference = ?", (json.dumps(snapshot, sort_keys=True), reference))


def finish(store: Store, reference: str) -> None:
    """Nothing more to tell about this submission: delete its row, and with it the address."""
    with transaction(store) as conn:
        conn.execute("DELETE FROM notify_subscriptions WHERE reference = ?", (reference,))


def addresses_for(store: Store, reference: str) -> set[str]:
    """The address kept for a submission: its subscription, or the messages still holding it (after the row went)."""
    with store.db.read() as conn:
        subscribed = conn.execute("SELECT email FROM notify_subscriptions WHERE reference = ?", (reference,)).fetchall()
        messages = conn.execute(  # narrowed by the text JSON holds, then checked parsed (the same SQL on both engines)
            "SELECT email, personalisation FROM notify_messages WHERE email IS NOT NULL AND personalisation LIKE ?",
            (f"%{json.dumps(reference)}%",),
        ).fetchall()
    addresses = {r["email"] for r in subscribed}
    addresses |= {r["email"] for r in messages if json.loads(r["personalisation"]).get("reference") == reference}
    return {address.strip().lower() for address in addresses}


def unsubscribe(store: Store, reference: str) -> int:
    """Delete the address kept for this submission everywhere: every subscription with that address and
    every message not yet sent to it (sent ones keep no address). Returns how many rows were affected."""
    count = 0
    for address in addresses_for(store, reference):
        with transaction(store) as conn:
            count += conn.execute("DELETE FROM notify_subscriptions WHERE lower(email) = ?", (address,)).rowcount
        count += forget_address(store, address)
    with transaction(store) as conn:
        count += conn.execute("DELETE FROM notify_subscriptions WHERE reference = ?", (reference,)).rowcount
    return count


def purge_subscriptions(store: Store, before: dt.datetime) -> int:
    """Delete every subscription given before `before` (retention); returns how many."""
    with transaction(store) as conn:
        return conn.execute("DELETE FROM notify_subscriptions WHERE created_at < ?", (_utc(before),)).rowcount
