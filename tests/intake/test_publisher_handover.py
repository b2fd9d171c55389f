"""The publisher after a crash: each submission is marked proposed the moment its pull request exists, and
work claimed by a killed process is taken over within seconds (a short lease, renewed while working). On both
engines (`make_store`, tests/conftest.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from intake.catalogue import CatalogueHolder
from intake.forge.base import Forge, Proposal, ProposalState
from intake.settings import IntakeSettings
from intake.store import Store
from intake.worker import Worker

from .conftest import IDEA, intake_env


class SlowBatches(Forge):
    """A forge proposing in groups of two, pausing between groups; it notes what the store said meanwhile."""

    def __init__(self, store: Store, pause: float = 0.0) -> None:
        self.store, self.pause = store, pause
        self.seen_between: list[dict[str, str]] = []
        self.proposed: list[str] = []

    def propose(self, proposal: Proposal) -> str:
        self.proposed.append(proposal.reference)
        return f"https://forge.example/pull/{proposal.reference}"

    def propose_many(self, proposals: list[Proposal], on_proposed: Callable[[dict[str, str]], object] | None = None) -> dict[str, str]:
        done: dict[str, str] = {}
        for start in range(0, len(proposals), 2):
            if start:
                self.seen_between.append({p.reference: self.store.get(p.reference).state for p in proposals[:start]})
                time.sleep(self.pause)
            made = {p.reference: self.propose(p) for p in proposals[start : start + 2]}
            done |= made
            if on_proposed is not None:
                on_proposed(made)
        return done

    def state(self, reference: str) -> ProposalState:
        return ProposalState.OPEN


def _worker(repo: Path, tmp_path: Path, forge: Forge, store: Store, lease: float = 15.0) -> Worker:
    settings = IntakeSettings.from_environment(repo, environ=intake_env(tmp_path / "data"))
    return Worker(settings, store, forge, CatalogueHolder(repo), lease_seconds=lease)


def _ideas(store: Store, count: int) -> list[str]:
    return [store.add_now("idea", {**IDEA, "title": f"Handover idea {n}"}, None) for n in range(count)]


def test_each_submission_is_marked_proposed_as_soon_as_its_pull_request_exists(repo: Path, tmp_path: Path, make_store: Callable[..., Store]) -> None:
    store = make_store(tmp_path / "data" / "intake.sqlite3")
    references = _ideas(store, 6)
    forge = SlowBatches(store)
    _worker(repo, tmp_path, forge, store).run_once(batch=6)
    assert forge.seen_between  # the batch went out in three groups
    for states in forge.seen_between:
        assert set(states.values()) == {"proposed"}, states
    assert {store.get(r).state for r in references} == {"proposed"}
    assert sorted(forge.proposed) == sorted(references)  # each once


def test_a_lease_is_renewed_while_the_worker_is_busy(repo: Path, tmp_path: Path, make_store: Callable[..., Store]) -> None:
    store = make_store(tmp_path / "data" / "intake.sqlite3")
    _ideas(store, 4)
    busy = SlowBatches(store, pause=1.5)
    worker = _worker(repo, tmp_path, busy, store, lease=0.6)
    thread = threading.Thread(target=worker.run_once, kwargs={"batch": 4})
    thread.start()
    time.sleep(1.0)  # longer than the lease: without renewal another worker could claim the same work
    other = make_store(tmp_path / "data" / "intake.sqlite3")
    assert other.claim_due(limit=4, lease_seconds=0.6) == []
    thread.join()
    assert busy.proposed and len(busy.proposed) == len(set(busy.proposed)) == 4


def test_work_claimed_by_a_killed_worker_is_taken_over_within_seconds(repo: Path, tmp_path: Path, make_store: Callable[..., Store]) -> None:
    store = make_store(tmp_path / "data" / "intake.sqlite3")
    references = _ideas(store, 3)
    claimed = store.claim_due(limit=3)  # the process that claimed these died (no renewal, no outcome)
    assert {r.reference for r in claimed} == set(references)
    forge = SlowBatches(store)
    worker = _worker(repo, tmp_path, forge, store)
    assert worker.run_once() == 0  # still leased
    started = time.monotonic()
    while worker.run_once(batch=3) == 0:
        assert time.monotonic() - started < 20, "the lease of a dead worker should lapse within seconds"
        time.sleep(0.25)
    assert time.monotonic() - started <= 16
    assert sorted(forge.proposed) == sorted(references)
    assert {store.get(r).state for r in references} == {"proposed"}
