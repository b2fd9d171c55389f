"""Recording what editors decided about a proposal: one rule for the status page, the worker and the webhook."""

from __future__ import annotations

from .forge.base import Forge, ProposalState
from .store import Store


def record_decision(store: Store, forge: Forge, reference: str, state: ProposalState) -> bool:
    """Merged → published; closed → not published, with the editors' public reason when the forge has one.

    Returns True when a decision was recorded; False for a state that is no
    decision yet (open, missing) or a reference the store does not hold.
    """
    if state == ProposalState.MERGED:
        return store.decide(reference, "merged")
    if state == ProposalState.CLOSED:
        return store.decide(reference, "closed", forge.public_reason(reference))
    return False
