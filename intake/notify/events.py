"""Deciding what to email, and to whom: the worker calls `EventDetector.run_once()` from its loop.

How the intake learns what happened (handbook: *How the intake learns what to email*):

- **Published / not published.** The worker already records every editor's
  decision in the store (`Worker.sync` asks the forge; GitHub's webhook and
  `consult review accept|reject` record it too), with the public reason of a
  rejection. A subscription whose submission is now `merged` or `closed` gets
  one message; comments, topics and ideas not published then have nothing
  more to tell, so their address is deleted at once.
- **Later news of a published idea.** The detector reads the base branch
  through the forge (content.py: local git or the GitHub API, only files that
  changed) and compares each followed idea's status, its response date and the
  "you said, we did" updates naming it with the snapshot of what that
  subscription was last told (kept in its row). A difference is one message.

Every message is recorded with `queue.enqueue` under a deterministic key
(`<reference>:published`, `<reference>:not-published`,
`<reference>:update:<n>:<hash of the change>`, `<reference>:you-said-we-did:<update slug>`),
before the snapshot moves on: a crash in between, a second worker or a
second pass finds the key taken and records nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import os
import time
from typing import Any

from generator.errors import ConsultError
from generator.schema import IDEA_STATUS_LABELS, IdeaStatus
from generator.theme import long_date

from ..catalogue import CatalogueHolder
from ..forge.base import Forge
from ..settings import IntakeSettings
from ..store import Record, Store
from .content import BranchReader, IdeaNow, Snapshot, UpdateNow, base_branch_for
from .links import link_key, unsubscribe_url
from .queue import enqueue
from .subscriptions import Subscription, finish, is_subscribed, save_snapshot, subscriptions

log = logging.getLogger("consult.intake")

CHECK_SECONDS = 60.0
"""How often the base branch is read for news of published ideas (CONSULT_NOTIFY_CHECK_SECONDS)."""
BASELINE = {"published": True, "status": IdeaStatus.WAITING.value, "response": None, "updates": [], "changes": 0}
"""What a person knows when their idea is published: it waits for a response, and no update names it yet."""


def status_label(status: str) -> str:
    try:
        return IDEA_STATUS_LABELS[IdeaStatus(status)]
    except ValueError:
        return status


def change_sentence(old_status: str, new_status: str, response: str | None) -> str:
    """What changed, in one sentence for the email."""
    parts = []
    if old_status != new_status:
        parts.append(f"its status changed from ‘{status_label(old_status)}’ to ‘{status_label(new_status)}’")
    if response:
        try:
            day = long_date(dt.date.fromisoformat(response))
        except ValueError:
            day = response
        parts.append(f"the organisation responded to it on {day}")
    text = " and ".join(parts)
    return f"Your idea has news: {text}."


def check_seconds(text: str) -> float:
    """CONSULT_NOTIFY_CHECK_SECONDS: seconds between looks at the base branch (default 60)."""
    if not text.strip():
        return CHECK_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < math.inf:
        raise ConsultError(f"CONSULT_NOTIFY_CHECK_SECONDS must be a number of seconds, 0 or more (default 60); found {text!r}")
    return seconds


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


class EventDetector:
    """Finds what happened to each subscribed submission and records one message per event."""

    def __init__(self, settings: IntakeSettings, store: Store, forge: Forge, catalogue: CatalogueHolder, check_interval: float | None = None) -> None:
        self.settings, self.store, self.catalogue = settings, store, catalogue
        branch = base_branch_for(forge)
        self.reader = BranchReader(branch) if branch is not None else None
        self.key = link_key(settings)
        self.check_interval = check_interval if check_interval is not None else check_seconds(os.environ.get("CONSULT_NOTIFY_CHECK_SECONDS", ""))
        self._last_look = -math.inf

    # -- the pass -----------------------------------------------------------------------------

    def run_once(self, look_now: bool = False) -> int:
        """Record a message for everything that happened since the last pass; returns how many were recorded.

        Decisions are read from the store on every pass; the base branch at most every
        `check_interval` seconds (or now, with `look_now`)."""
        recorded, following = 0, []
        for sub in subscriptions(self.store, decided_only=True):
            record = self.store.get(sub.reference)
            if record is None or record.state == "closed":
                recorded += self._not_published(sub, record) if record is not None else 0
                finish(self.store, sub.reference)
                continue
            if record.state != "merged":
                continue
            snapshot = sub.snapshot
            if not snapshot.get("published"):
                recorded += self._published(sub, record)
                if sub.kind != "idea":
                    finish(self.store, sub.reference)
                    continue
                snapshot = dict(BASELINE)
                save_snapshot(self.store, sub.reference, snapshot)
            following.append((sub, record, snapshot))
        if following and self.reader is not None and (look_now or time.monotonic() - self._last_look >= self.check_interval):
            self._last_look = time.monotonic()
            branch = self.reader.look({str((r.proposal or {}).get("path", "")) for _, r, _ in following} - {""})
            for sub, _record, snapshot in following:
                recorded += self._news(sub, snapshot, branch)
        if recorded:
            log.info("Queued %d email(s) about what happened to submissions.", recorded)
        return recorded

    # -- each event ---------------------------------------------------------------------------

    def _send(self, sub: Subscription, key: str, template: str, **fields: str) -> int:
        if not is_subscribed(self.store, sub.reference):  # unsubscribed since this pass began
            return 0
        personalisation = {"reference": sub.reference, "unsubscribe_url": unsubscribe_url(self.settings, self.key, sub.reference), **fields}
        return int(enqueue(self.store, key, sub.email, template, personalisation))

    def _published(self, sub: Subscription, record: Record) -> int:
        return self._send(sub, f"{sub.reference}:published", f"{sub.kind}_published", url=self.page_url(record))

    def _not_published(self, sub: Subscription, record: Record) -> int:
        reason = (record.reason or "").strip() or (
            f"The editors gave no public reason. Our moderation policy says what we publish: {self.settings.base_url}/moderation/"
        )
        return self._send(sub, f"{sub.reference}:not-published", f"{sub.kind}_not_published", reason=reason)

    def _news(self, sub: Subscription, snapshot: dict[str, Any], branch: Snapshot) -> int:
        """Status, response and "you said, we did" updates of one published idea, against what it was last told."""
        idea = branch.ideas.get(sub.reference)
        if idea is None:
            return 0
        recorded, told = 0, dict(snapshot)
        new_response = idea.response_date if idea.response_date != told.get("response") else None
        if idea.status != told.get("status") or new_response:
            count = int(told.get("changes", 0)) + 1
            key = f"{sub.reference}:update:{count}:{_digest(told.get('status'), idea.status, told.get('response'), idea.response_date)}"
            change = change_sentence(str(told.get("status")), idea.status, new_response)
            recorded += self._send(sub, key, "idea_update", url=self.idea_url(idea), change=change)
            told.update(changes=count)
        told.update(status=idea.status, response=idea.response_date)
        for update in self._updates_naming(idea, branch, told):
            change = f"A “you said, we did” update mentions your idea: {update.title}."
            recorded += self._send(
                sub,
                f"{sub.reference}:you-said-we-did:{update.slug}",
                "idea_update",
                url=f"{self.settings.base_url}/updates/{update.slug}/",
                change=change,
            )
            told["updates"] = sorted({*told.get("updates", []), update.slug})
        if told != snapshot:
            save_snapshot(self.store, sub.reference, told)
        return recorded

    @staticmethod
    def _updates_naming(idea: IdeaNow, branch: Snapshot, told: dict[str, Any]) -> list[UpdateNow]:
        seen = set(told.get("updates", []))
        return [u for u in branch.updates if idea.slug in u.ideas and u.slug not in seen]

    # -- links ----------------------------------------------------------------------------------

    def idea_url(self, idea: IdeaNow) -> str:
        return f"{self.settings.base_url}/ideas/{idea.slug}/"

    def page_url(self, record: Record) -> str:
        """The published page of an idea or topic, or the discussion a comment joined (the home page if unknown)."""
        parts = str((record.proposal or {}).get("path", "")).removesuffix(".md").split("/")
        path = "/"
        if record.kind == "idea" and len(parts) == 4:
            path = f"/ideas/{parts[3]}/"
        elif record.kind == "topic" and len(parts) == 4:
            path = f"/challenges/{parts[2]}/topics/{parts[3]}/"
        elif record.kind == "comment":
            kind, _, slug = (record.fields or {}).get("target", "").partition(":")
            challenge = self.catalogue.current.topics.get(slug)
            if kind == "idea" and slug:
                path = f"/ideas/{slug}/#discussion"
            elif kind == "topic" and challenge:
                path = f"/challenges/{challenge}/topics/{slug}/#discussion"
        return self.settings.base_url + path
