"""Status back from GitHub (signed webhooks, reconciliation), App auth, and the intake end to end."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import CHALLENGES, proposal
from starlette.applications import Starlette

from intake.forge.base import ProposalState
from intake.forge.github import ForgeConfigError, GitHubForge
from intake.webhook import github_webhook_route, outcomes, reconcile, signature

SECRET = b"webhook-secret"


def closed_event(github, number: int) -> dict:
    return {"action": "closed", "number": number, "pull_request": github.pull_json(github.pulls[number])}


@contextlib.contextmanager
def webhook_client(on_status, forge=None, secret: bytes = SECRET) -> Iterator[httpx.Client]:
    """The webhook route served by uvicorn on 127.0.0.1, as the intake mounts it."""
    from tests.intake.conftest import free_port, serve_app

    app = Starlette(routes=[github_webhook_route(on_status, forge, secret=secret)])
    with serve_app(app, free_port()) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def post(client: httpx.Client, payload: dict, sign: bytes | None = SECRET, event: str = "pull_request"):
    body = json.dumps(payload).encode()
    headers = {"x-github-event": event, "content-type": "application/json"}
    if sign is not None:
        headers["x-hub-signature-256"] = signature(sign, body)
    return client.post("/webhooks/github", content=body, headers=headers)


def test_webhook_rejects_unsigned_and_wrongly_signed(forge, github):
    forge.propose(proposal(1))
    github.merge(1)
    seen: list = []
    with webhook_client(lambda ref, state: seen.append((ref, state))) as client:
        assert post(client, closed_event(github, 1), sign=None).status_code == 401
        assert post(client, closed_event(github, 1), sign=b"not-the-secret").status_code == 401
        assert post(client, closed_event(github, 1), sign=SECRET.upper()).status_code == 401
    with webhook_client(seen.append, secret=b"") as unset:  # no secret configured: refuse everything
        assert post(unset, closed_event(github, 1)).status_code == 401
    assert seen == []


def test_webhook_merged_and_closed(forge, github):
    forge.propose(p1 := proposal(1))
    forge.propose(p2 := proposal(2))
    github.merge(1)
    github.close(2)
    seen: dict = {}
    with webhook_client(lambda ref, state: seen.__setitem__(ref, state)) as client:
        assert post(client, {"zen": "hi"}, event="ping").status_code == 200
        assert post(client, closed_event(github, 1)).json() == {"updated": [p1.reference]}
        assert post(client, closed_event(github, 2)).status_code == 200
    assert seen == {p1.reference: ProposalState.MERGED, p2.reference: ProposalState.CLOSED}


def test_webhook_on_a_batch_asks_which_files_were_kept(forge, github):
    batch = [proposal(n) for n in range(4)]
    forge.propose_batch(CHALLENGES[0], batch)
    github.delete_file(github.pulls[1].head, batch[1].path)
    github.merge(1)
    assert outcomes(closed_event(github, 1)) == {}  # without the forge, left to reconcile
    seen: dict = {}
    with webhook_client(lambda ref, state: seen.__setitem__(ref, state), forge) as client:
        post(client, closed_event(github, 1))
    assert seen.pop(batch[1].reference) is ProposalState.CLOSED
    assert set(seen.values()) == {ProposalState.MERGED} and len(seen) == 3


def test_reconcile_covers_missed_webhooks(forge, github):
    refs = []
    for n in range(3):
        forge.propose(p := proposal(n))
        refs.append(p.reference)
    forge.propose_batch(CHALLENGES[1], [proposal(10, CHALLENGES[1]), proposal(11, CHALLENGES[1])])
    github.merge(1)
    github.close(2)
    github.merge(4)
    seen: dict = {}
    decided = reconcile(forge, refs + ["TH-000010", "TH-000011", "TH-NOPE"], lambda r, s: seen.__setitem__(r, s))
    assert (
        decided
        == seen
        == {refs[0]: ProposalState.MERGED, refs[1]: ProposalState.CLOSED, "TH-000010": ProposalState.MERGED, "TH-000011": ProposalState.MERGED}
    )
    assert forge.state(refs[2]) is ProposalState.OPEN and forge.state("TH-NOPE") is ProposalState.MISSING


def test_github_app_installation_auth(options, clock, tmp_path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from github_server import FakeGitHub

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "app.pem").write_bytes(pem)
    env = {"CONSULT_GITHUB_APP_ID": "42", "CONSULT_GITHUB_APP_KEY_FILE": str(tmp_path / "app.pem"), "CONSULT_GITHUB_INSTALLATION_ID": "7"}
    with FakeGitHub(clock, app_public_key=public) as server:
        forge = GitHubForge(options.__class__(**{**options.__dict__, "url": server.url}), clock, env=env)
        forge.propose(proposal(1))
        assert server.requests[0].path == "/app/installations/7/access_tokens" and server.requests[0].status == 201
        assert len(server.pulls) == 1


def test_missing_credentials_say_what_to_set(options, clock):
    with pytest.raises(ForgeConfigError, match="GITHUB_TOKEN"):
        GitHubForge(options, clock, env={}).propose(proposal(1))


def test_checking_many_submissions_costs_a_page_not_a_request_each(forge, github, clock):
    refs = []
    for n in range(12):
        forge.propose(p := proposal(n))
        refs.append(p.reference)
    forge.states(refs)
    github.merge(3)
    clock.advance(60)
    listed = lambda: sum(1 for r in github.requests if r.method == "GET" and r.path.endswith("/pulls"))
    before = listed()
    answers = [forge.state(ref) for ref in refs]  # as the worker's sync asks, one by one
    assert listed() - before == 1
    assert answers[2] is ProposalState.MERGED and answers.count(ProposalState.OPEN) == 11


def test_public_reason_reads_the_last_reason_line_of_a_closed_unmerged_pull_request(forge, github, clock):
    for n in range(4):
        forge.propose(proposal(n))
    refs = [proposal(n).reference for n in range(4)]
    github.comment(1, "PUBLIC REASON: first\nnot a reason\n  Public Reason: <b>It is not about</b> [health](https://x.example) &amp; care.  ")
    github.comment(2, "Public reason: published anyway")
    github.comment(3, "Looks fine, no reason line here.")
    github.comment(4, "Public reason: " + "word " * 200)
    assert forge.public_reason(refs[0]) is None, "still open"
    github.close(1)
    github.merge(2)
    github.close(3)
    github.close(4)
    clock.advance(1)
    assert forge.public_reason(refs[0]) == "It is not about health & care."
    assert forge.public_reason(refs[1]) is None, "merged"
    assert forge.public_reason(refs[2]) is None, "no Public reason: line"
    long = forge.public_reason(refs[3])
    assert long is not None and len(long) <= 500 and long.endswith("…") and long.startswith("word word")
    assert forge.public_reason("TH-NOPE") is None
    assert github.violations == []


def test_public_reason_waits_out_a_secondary_limit(forge, github, clock):
    forge.propose(p := proposal(1))
    github.comment(1, "Public reason: It does not meet our moderation policy.")
    github.close(1)
    github.inject("GET", r"/issues/1/comments$", "502")
    github.inject("GET", r"/issues/1/comments$", "secondary", retry_after=90)
    before = clock.time()
    assert forge.public_reason(p.reference) == "It does not meet our moderation policy."
    assert clock.time() - before >= 90
