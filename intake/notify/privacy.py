"""Retention of email addresses: deleted at `moderation.retention_days`, with the rest of the contact details."""

from __future__ import annotations

import datetime as dt

from ..store import Store
from .queue import purge_addresses
from .subscriptions import purge_subscriptions


def purge_email_addresses(store: Store, older_than: dt.timedelta) -> int:
    """Delete subscriptions and blank the address of messages given or recorded before the limit; returns how many."""
    before = store.clock.now() - older_than
    return purge_subscriptions(store, before) + purge_addresses(store, before)
