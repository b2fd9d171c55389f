"""The publisher: takes received submissions from the store and proposes them to the forge.

Each step is idempotent: the proposal is built once and saved before the
forge is called, the forge finds what it already made, and the store is
marked last. A crash anywhere repeats a step, never duplicates its effect.
Failures are retried with exponential back-off (and jitter) until they work.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

from generator.clock import wall_time

from .catalogue import CatalogueHolder
from .db import Database, DatabaseUnavailable, open_database
from .decisions import record_decision
from .forge.base import Forge, ForgeUnavailable, ProposalState
from .forge.batching import WORKER_CLAIM, claim_size
from .migrations import migrate
from .moderation import WaitingIdea
from .notify.events import EventDetector
from .notify.privacy import purge_email_addresses
from .notify.sender import Sender
from .proposals import PendingPaths, build_proposal, proposal_from_json, proposal_to_json
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
        self._waiting: dict[str, WaitingIdea] | None = None
        """The ideas waiting for a decision, by reference (`waiting_ideas`); None: read them from the store again."""
        self.notify = Sender.from_settings(settings, store)
        """Sends the emails people asked for (GOV.UK Notify, or the outbox folder without an API key)."""
        self.events = EventDetector(settings, store, forge, catalogue)
        """Decides which emails to send about what happened to submissions (intake/notify/events.py)."""

    def publish(self, records: list[Record]) -> None:
        """Propose a batch: build (and keep) missing proposals, call the forge, record each outcome."""
        built: dict[str, dict] = {}
        paths = PendingPaths(self.store.proposal_paths())
        waiting = self.waiting_ideas(records)
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

    def waiting_ideas(self, claimed: list[Record]) -> list[WaitingIdea]:
        """The ideas not yet decided, compared for duplicates: read from the store once (and again after each
        check for decisions), then kept up to date with each claimed batch, so a batch costs the same however many wait."""
        if self._waiting is None:
            self._waiting = {row[0]: WaitingIdea(*row) for row in self.store.waiting_ideas()}
        for record in claimed:
            if record.kind == "idea" and record.fields is not None and record.reference not in self._waiting:
                self._waiting[record.reference] = WaitingIdea(record.reference, record.fields.get("title", ""), record.fields.get("idea", ""))
        return list(self._waiting.values())

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
            self._waiting = None  # decided meanwhile (here, by `consult review` or by a webhook): read them again
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
                log.info(
                    "Purged contact details of %d submission(s) and the text of %d decided submission(s) older than %d days.", contacts, texts, days
                )

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
            database_down = False
            while not self.stop_event.is_set():
                try:
                    if self.may_publish():
                        self.publish_due()
                    else:
                        self.catalogue.refresh()  # another worker publishes; this process still serves current pages
                    if database_down:
                        log.info("The database answers again; publishing carries on.")
                    database_down = False
                except DatabaseUnavailable as exc:  # one line per outage, not a traceback every half second
                    if not database_down:
                        log.warning("The publisher worker cannot reach the database (%s); it tries again every %.1f s.", exc, poll)
                    database_down = True
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


PUBLISHED = b"published\n"
"""What a supervised worker writes on its standard output each time something was published."""


WORKER_NICENESS = 10
"""How much lower the supervised worker's CPU priority is than the web process's (and its git commands', which
inherit it): when both want the CPU, people posting are answered first and the publishing catches up after."""


def run_supervised(runner: Worker, commands: BinaryIO, news: BinaryIO) -> None:
    """Run the worker as the web process's child (`consult intake worker --supervised`) until told to stop.

    It runs at a lower CPU priority (`WORKER_NICENESS`). A byte on `commands` (its standard input) wakes it: a submission is waiting. The end of `commands` stops it:
    the web process closed it, or died (the system closes a dead process's pipes, so no worker is left orphaned).
    Each publication is told on `news` (its standard output), for the web process to read the site again.
    """

    def stop(*_: object) -> None:
        runner.stop_event.set()
        runner.wake.set()

    def listen() -> None:
        while os.read(commands.fileno(), 4096):
            runner.wake.set()
        stop()

    def tell() -> None:
        news.write(PUBLISHED)
        news.flush()

    runner.on_published = tell
    os.nice(WORKER_NICENESS)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    threading.Thread(target=listen, name="intake-worker-parent", daemon=True).start()
    runner.run()


class WorkerProcess:
    """The publisher worker in a child process of its own, started, restarted and stopped with the web process.

    The child (`consult intake worker --supervised`, see `run_supervised`) has its own interpreter, so
    publishing (duplicate scoring, git) does not compete with the web process's event loop for the GIL.
    A pipe each way: a byte to the child wakes it; a line from it says something was published. While it
    runs, `tick` is called about once a second (to reload the site's content when it is due).
    """

    RESTART_MAX = 60.0
    """Longest wait, in seconds, before starting a worker that keeps dying again."""

    def __init__(self, root: Path, on_published: Callable[[], object], tick: Callable[[], object] = lambda: None, command: list[str] | None = None):
        self.command = command or [
            sys.executable,
            "-c",
            "from generator.cli import main; main(prog_name='consult')",
            "--root",
            str(root),
            "intake",
            "worker",
            "--supervised",
        ]
        self.on_published, self.tick = on_published, tick
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        """How many times the child died and was started again."""
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name="intake-worker-process", daemon=True)
        self._thread.start()

    def _spawn(self) -> bool:
        """Start the child, unless stopping (checked under the lock `stop` takes, so none starts after it)."""
        with self._lock:
            if self._stopping.is_set():
                return False
            # Its own session: Ctrl+C in a terminal reaches the web process only, which then stops the child in order.
            process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
            assert process.stdin is not None
            os.set_blocking(process.stdin.fileno(), False)
            self.process = process
        log.info("Started the publisher worker (process %d).", process.pid)
        return True

    def wake(self) -> None:
        """Tell the worker a submission is waiting (never blocks: when the pipe is full the worker is awake anyway)."""
        with self._lock:
            process = self.process
            if process is None or process.stdin is None or process.stdin.closed:
                return
            try:
                os.write(process.stdin.fileno(), b"w")
            except (BlockingIOError, BrokenPipeError):
                pass

    def _watch(self) -> None:
        """Relay the child's news; start it again (after a growing pause) whenever it dies, until stopped."""
        delay = 1.0
        while not self._stopping.is_set():
            process = self.process
            assert process is not None and process.stdout is not None
            started = time.monotonic()
            self._relay(process.stdout)
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > self.RESTART_MAX:
                delay = 1.0
            log.error("The publisher worker stopped (exit code %s); starting it again in %.0f s.", code, delay)
            if self._stopping.wait(delay):
                return
            delay = min(self.RESTART_MAX, delay * 2)
            with self._lock:
                for pipe in (process.stdin, process.stdout):
                    if pipe is not None:
                        pipe.close()
            if not self._spawn():
                return
            self.restarts += 1

    def _relay(self, news: IO[bytes]) -> None:
        """Read the child's lines until it closes its output, calling `tick` when a second passes without news."""
        buffer = b""
        while True:
            ready, _, _ = select.select([news], [], [], 1.0)
            if not ready:
                try:
                    self.tick()
                except Exception:
                    log.exception("The web process's periodic step failed; it runs again in a second.")
                continue
            chunk = os.read(news.fileno(), 4096)
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line + b"\n" == PUBLISHED:
                    try:
                        self.on_published()
                    except Exception:
                        log.exception("Could not act on a publication by the worker.")

    def stop(self, timeout: float = 30.0) -> None:
        """Close the child's input (it finishes its step and exits), wait for it, and end it if it does not."""
        self._stopping.set()
        with self._lock:
            process = self.process
            if process is not None and process.stdin is not None:
                process.stdin.close()
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("The publisher worker did not stop within %.0f s; ending it.", timeout)
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)


def make_forge(settings: IntakeSettings, db: Database | None = None) -> Forge:
    """The forge chosen in site.yml; `db` is the store's database (Store.db), else the one the settings name."""
    if settings.config.forge == "github":
        from .forge.github import forge_from_site
        from .forge.ratelimit import StoreWriteLedger

        if db is None:
            db = open_database(settings)
            migrate(db)
        # GitHub's write budget is counted in the store, so a restart or a second process never exceeds it.
        return forge_from_site(settings.config.model_copy(update={"base_url": settings.base_url}), ledger=StoreWriteLedger(db))
    from .forge.local import LocalGitForge

    return LocalGitForge(settings.root, settings.main_branch)
