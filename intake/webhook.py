"""GitHub's word on a pull request, back into the intake: `POST /webhooks/github`.

The intake app (intake/app.py) mounts it when site.yml says `forge: github`,
at `<intake url>/webhooks/github`:

    routes.append(github_webhook_route(store_updater(store, forge), forge))

Every delivery must carry `X-Hub-Signature-256` (HMAC-SHA256 of the body with
the secret in CONSULT_WEBHOOK_SECRET); anything unsigned or wrongly signed
gets 401 and changes nothing. A closed pull request sets its submissions to
merged or closed; for a merged batch the forge says which files editors kept.
Missed deliveries are covered by `reconcile()`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .checks import UnreadableBody, load_json
from .decisions import record_decision
from .forge.base import Forge, ProposalState
from .forge.github_body import references_in
from .store import Store

log = logging.getLogger("consult.intake")
OnStatus = Callable[[str, ProposalState], object]
SECRET_ENV = "CONSULT_WEBHOOK_SECRET"


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """True only for a present, well-formed, matching X-Hub-Signature-256."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(signature(secret, body), header)


def outcomes(payload: Mapping[str, Any], forge: Any = None) -> dict[str, ProposalState]:
    """reference → state for a `pull_request` event that closed a submission's pull request."""
    pull = payload.get("pull_request") or {}
    if payload.get("action") != "closed" or not str(pull.get("head", {}).get("ref", "")).startswith("submissions/"):
        return {}
    refs = references_in(pull.get("body")) or {pull["head"]["ref"].removeprefix("submissions/"): ""}
    if not pull.get("merged"):
        return {ref: ProposalState.CLOSED for ref in refs}
    if len(refs) == 1:
        return {ref: ProposalState.MERGED for ref in refs}
    if forge is None:
        return {}  # which files editors kept is for reconcile() to find out
    return forge.pull_outcomes(int(pull["number"]))


def github_webhook(on_status: OnStatus, forge: Any = None, secret: bytes | None = None) -> Callable[[Request], Any]:
    """The Starlette endpoint; the secret defaults to CONSULT_WEBHOOK_SECRET from the environment."""
    key = secret if secret is not None else os.environ.get(SECRET_ENV, "").encode()

    async def endpoint(request: Request) -> JSONResponse:
        body = await request.body()
        if not verify(key, body, request.headers.get("x-hub-signature-256")):
            return JSONResponse({"error": "missing or wrong X-Hub-Signature-256"}, status_code=401)
        event = request.headers.get("x-github-event", "")
        if event == "ping":
            return JSONResponse({"ok": "pong"})
        if event != "pull_request":
            return JSONResponse({"ignored": event}, status_code=202)
        try:
            payload = load_json(body.decode("utf-8"))
        except (UnreadableBody, UnicodeDecodeError):
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "body is not a JSON object"}, status_code=400)
        try:
            decided = await run_in_threadpool(outcomes, payload, forge)
        except (TypeError, ValueError, KeyError, AttributeError):
            log.warning("A signed pull_request delivery did not have the shape GitHub sends; it was ignored.")
            return JSONResponse({"error": "not a pull_request event GitHub would send"}, status_code=422)
        for reference, state in decided.items():
            await run_in_threadpool(on_status, reference, state)
        return JSONResponse({"updated": sorted(decided)})

    return endpoint


def github_webhook_route(on_status: OnStatus, forge: Any = None, secret: bytes | None = None, path: str = "/webhooks/github") -> Route:
    return Route(path, github_webhook(on_status, forge, secret), methods=["POST"])


def reconcile(forge: Forge, references: Sequence[str], on_status: OnStatus) -> dict[str, ProposalState]:
    """Ask the forge about every open submission (covers missed webhooks); report the decided ones."""
    states = forge.states(list(references))
    decided: dict[str, ProposalState] = {ref: s for ref, s in states.items() if s in (ProposalState.MERGED, ProposalState.CLOSED)}
    for reference, state in decided.items():
        on_status(reference, state)
    return decided


def store_updater(store: Store, forge: Forge) -> OnStatus:
    """The on_status callback for the intake's Store: merged → published, closed → not published, with the public reason."""

    def update(reference: str, state: ProposalState) -> None:
        record_decision(store, forge, reference, state)

    return update
