"""record_decision: the one rule for what editors decided (status page, worker sync and webhook all use it).

Every test runs on both engines: the `store` fixture (tests/conftest.py) is SQLite, then PostgreSQL."""

from __future__ import annotations

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


class ClosedButSilent(Decided):
    """A forge that says a proposal was closed, then fails when asked for the editors' reason (GitHub refusing)."""

    def state(self, reference: str) -> ProposalState:
        return ProposalState.CLOSED

    def public_reason(self, reference: str) -> str | None:
        raise ConnectionError("GitHub did not answer")


def test_the_status_page_keeps_the_stored_state_when_the_forge_fails_half_way(store: Store) -> None:
    from types import SimpleNamespace

    from intake.app import _current_state

    reference = store.add_now("idea", IDEA, None)
    store.mark_proposed({reference: "submissions/" + reference})
    intake = SimpleNamespace(store=store, forge=ClosedButSilent())
    record = _current_state(intake, reference)  # type: ignore[arg-type]
    assert record is not None and record.state == "proposed", "as stored: nothing half-recorded, no error"
    assert store.get(reference).state == "proposed"  # type: ignore[union-attr]
