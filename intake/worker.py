"""The publisher: takes received submissions from the store and proposes them to the forge.

Each step is idempotent: the proposal is built once and saved before the
forge is called, the forge finds what it already made, and the store is
marked last. A crash anywhere repeats a step, never duplicates its effect.
Failures are retried with exponential back-off (and jitter) until they work.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable

from generator.clock import wall_time

from .catalogue import CatalogueHolder
from .db import Database, open_database
from .decisions import record_decision
from .forge.base import Forge, ForgeUnavailable, ProposalState
from .forge.batching import WORKER_CLAIM, claim_size
from .migrations import migrate
from .moderation import WaitingIdea
from .notify.events import EventDetector
from .notify.privacy import purge_email_addresses
from .notify.sender import Sender
from .proposals import build_proposal, proposal_from_json, proposal_to_json
from .publisher import PublisherLease
from .settings import IntakeSettings
from .store import LEASE_SECONDS, Record, Store

log = logging.getLogger("consult.intake")


def backoff(attempts: int, base: float, maximum: float) -> float:
    """Seconds before the next try: base·2^attempts, capped, with ±20% jitter."""
    delay = min(maximum, base * (2 ** min(attempts, 20)))
    return delay * random.uniform(0.8, 1.2)


class Worker:
    def __init__(
        self,
        settings: IntakeSettings,
        store: Store,
        forge: Forge,
        catalogue: CatalogueHolder,
        on_published: Callable[[], object] | None = None,
        lease_seconds: float = LEASE_SECONDS,
        publisher_lease: PublisherLease | None = None,
    ):
        self.settings, self.store, self.forge, self.catalogue = settings, store, forge, catalogue
        self.on_published = on_published
        self.lease_seconds = lease_seconds
        """How long a claim holds unrenewed: after a crash, another worker takes the work over within this."""
        self.publisher_lease = publisher_lease
        """Held while this worker is the one that publishes (intake/publisher.py); `run` takes one when none is given."""
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sync = 0.0
        self._last_purge = 0.0
        self._checked_at = wall_time().isoformat(timespec="microseconds")
        self.notify = Sender.from_settings(settings, store)
        """Sends the emails people asked for (GOV.UK Notify, or the outbox folder without an API key)."""
        self.events = EventDetector(settings, store, forge, catalogue)
        """Decides which emails to send about what happened to submissions (intake/notify/events.py)."""

    def publish(self, records: list[Record]) -> None:
        """Propose a batch: build (and keep) missing proposals, call the forge, record each outcome."""
        built: dict[str, dict] = {}
        paths = self.store.proposal_paths()
        waiting = [WaitingIdea(*row) for row in self.store.waiting_ideas()]
        proposals = {}
        for record in records:
            try:
                if record.proposal is None:
                    proposal = build_proposal(record, self.catalogue.current, paths, waiting)
                    built[record.reference] = proposal_to_json(proposal)
                    paths.add(proposal.path)
                else:
                    proposal = proposal_from_json(record.proposal)
                proposals[record.reference] = proposal
            except Exception as exc:  # noqa: BLE001 - a proposal that cannot be built is retried later, like a forge failure
                self._failed(record, exc)
        self.store.save_proposals(built)
        marked: set[str] = set()

        def proposed(done: dict[str, str]) -> None:
            """Record proposals the moment the forge holds them, so /status never says "Received" after that."""
            fresh = {ref: locator for ref, locator in done.items() if ref not in marked}
            self.store.mark_proposed(fresh)
            marked.update(fresh)
            for reference, locator in fresh.items():
                log.info("Proposed %s as %s", reference, locator)

        with self.store.keep_leased([r.reference for r in records], self.lease_seconds):
            if len(proposals) > 1:
                try:
                    proposed(self.forge.propose_many(list(proposals.values()), on_proposed=proposed))
                except Exception as exc:  # noqa: BLE001 - fall back to one at a time, to find the one that fails
                    log.warning("Could not propose a batch of %d: %s. Trying one at a time.", len(proposals), exc)
            for record in records:
                if record.reference not in proposals or record.reference in marked:
                    continue
                try:
                    proposed({record.reference: self.forge.propose(proposals[record.reference])})
                except Exception as exc:  # noqa: BLE001 - retried later; the message never holds contact details
                    self._failed(record, exc)

    def _failed(self, record: Record, exc: Exception) -> None:
        delay = backoff(record.attempts, self.settings.retry_base, self.settings.retry_max)
        if isinstance(exc, ForgeUnavailable) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        log.warning("Could not propose %s (attempt %d): %s. Retrying in %.0f s.", record.reference, record.attempts + 1, exc, delay)
        self.store.mark_failed(record.reference, f"{type(exc).__name__}: {exc}", delay)

    def claim_size(self) -> int:
        """How many submissions to claim at once: more when the forge batches and the backlog outgrows its hourly capacity."""
        if not self.forge.batches:
            return WORKER_CLAIM
        backlog = self.store.counts().get("received", 0)
        return claim_size(backlog, self.forge.one_by_one_capacity(), self.forge.batch_size)

    def run_once(self, batch: int = WORKER_CLAIM) -> int:
        """Publish every submission that is due now; return how many were tried."""
        done = 0
        while self.may_publish():
            records = self.store.claim_due(limit=batch, lease_seconds=self.lease_seconds)
            if not records:
                break
            self.publish(records)
            done += len(records)
        return done

    def may_publish(self) -> bool:
        """True until the worker is stopped or loses the publisher lease (always, for a worker run without one)."""
        return not self.stop_event.is_set() and (self.publisher_lease is None or self.publisher_lease.held)

    def sync(self) -> int:
        """Ask the forge what editors decided; record it and rebuild when something was published.

        Decisions recorded by another process (`consult review accept`) count too.
        """
        since, self._checked_at = self._checked_at, wall_time().isoformat(timespec="microseconds")
        published = 0
        for record in self.store.in_state("proposed"):
            state = self.forge.state(record.reference)
            if record_decision(self.store, self.forge, record.reference, state) and state == ProposalState.MERGED:
                published += 1
        if published or self.store.merged_since(since):
            self.catalogue.refresh(force=True)
            if self.on_published is not None:
                self.on_published()
        return published

    def housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_sync >= self.settings.sync_interval:
            self._last_sync = now
            try:
                self.sync()
            except Exception as exc:  # noqa: BLE001 - the next sync asks again
                log.warning("Could not check the forge for decisions: %s", exc)
            try:
                self.events.run_once()
            except Exception as exc:  # noqa: BLE001 - retried on the next pass; every message is recorded once
                log.warning("Could not work out which emails to send: %s", type(exc).__name__)
            self.catalogue.refresh()
        if now - self._last_purge >= 3600:
            self._last_purge = now
            days = self.settings.config.moderation.retention_days
            contacts = purge_email_addresses(self.store, dt.timedelta(days=days))  # before the store's purge, which checkpoints the WAL
            contacts_purged, texts = self.store.purge(dt.timedelta(days=days))
            contacts += contacts_purged
            if contacts or texts:
                log.info("Purged contact details of %d submission(s) and the text of %d decided submission(s) older than %d days.", contacts, texts, days)

    def publish_due(self) -> None:
        """The lease holder's round: publish what is due, then housekeeping, then emails, each only while still holding it."""
        self.run_once(self.claim_size())
        if self.may_publish():
            self.housekeeping()
        if self.may_publish():
            self.notify.run_once(stop=self.stop_event)

    def run(self, poll: float = 0.5) -> None:
        """Loop until stopped: while holding the publisher lease, publish what is due, check decisions, purge past
        retention and send emails; without it, wait (another worker publishes) and keep the catalogue fresh."""
        lease = self.publisher_lease = self.publisher_lease or PublisherLease(self.store)
        lease.start()
        try:
            while not self.stop_event.is_set():
                try:
                    if self.may_publish():
                        self.publish_due()
                    else:
                        self.catalogue.refresh()  # another worker publishes; this process still serves current pages
                except Exception:
                    log.exception("The publisher worker hit an error; it carries on.")
                self.wake.wait(poll)
                self.wake.clear()
        finally:
            lease.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="intake-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def make_forge(settings: IntakeSettings, db: Database | None = None) -> Forge:
    """The forge chosen in site.yml; `db` is the store's database (Store.db), else the one the settings name."""
    if settings.config.forge == "github":
        from .forge.github import forge_from_site
        from .forge.ratelimit import StoreWriteLedger

        if db is None:
            db = open_database(settings)
            migrate(db)
        # GitHub's write budget is counted in the store, so a restart or a second process never exceeds it.
        return forge_from_site(settings.config.model_copy(update={"base_url": settings.base_url}),
                               ledger=StoreWriteLedger(db))
    from .forge.local import LocalGitForge

    return LocalGitForge(settings.root, settings.main_branch)
