"""record_decision: the one rule for what editors decided (status page, worker sync and webhook all use it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.decisions import record_decision
from intake.forge.base import Forge, Proposal, ProposalState
from intake.store import Store

from .conftest import IDEA


class Decided(Forge):
    """A forge whose editors gave one public reason for every closed proposal."""

    def propose(self, proposal: Proposal) -> str:
        return proposal.branch

    def state(self, reference: str) -> ProposalState:
        return ProposalState.OPEN

    def public_reason(self, reference: str) -> str | None:
        return f"A topic on this already exists ({reference})."


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "intake.sqlite3")


def test_merged_is_published_without_a_reason(store: Store) -> None:
    reference = store.add_now("idea", IDEA, None)
    assert record_decision(store, Decided(), reference, ProposalState.MERGED)
    record = store.get(reference)
    assert record is not None and (record.state, record.reason) == ("merged", None)


def test_closed_keeps_the_editors_public_reason(store: Store) -> None:
    reference = store.add_now("idea", IDEA, None)
    assert record_decision(store, Decided(), reference, ProposalState.CLOSED)
    record = store.get(reference)
    assert record is not None and (record.state, record.reason) == ("closed", f"A topic on this already exists ({reference}).")


@pytest.mark.parametrize("state", [ProposalState.OPEN, ProposalState.MISSING])
def test_a_state_that_is_no_decision_changes_nothing(store: Store, state: ProposalState) -> None:
    reference = store.add_now("idea", IDEA, None)
    assert not record_decision(store, Decided(), reference, state)
    record = store.get(reference)
    assert record is not None and record.state == "received"


def test_a_reference_the_store_does_not_hold_is_not_recorded(store: Store) -> None:
    assert not record_decision(store, Decided(), "TH-NOPE", ProposalState.MERGED)
    assert store.get("TH-NOPE") is None


def test_a_forge_without_public_reasons_closes_with_none(store: Store) -> None:
    class Plain(Decided):
        public_reason = Forge.public_reason  # the base class's default

    reference = store.add_now("idea", IDEA, None)
    assert record_decision(store, Plain(), reference, ProposalState.CLOSED)
    record = store.get(reference)
    assert record is not None and (record.state, record.reason) == ("closed", None)
