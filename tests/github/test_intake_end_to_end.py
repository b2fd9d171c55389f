"""The intake's own end-to-end flow, through the GitHub forge: form → pull request → merge → webhook → published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intake.forge.base import ProposalState
from intake.forge.github import GitHubForge
from intake.forge.github_body import references_in
from intake.settings import IntakeSettings
from intake.webhook import reconcile, signature, store_updater
from intake.worker import make_forge
from tests.intake.conftest import IDEA, intake_env, running_intake, wait_for

SECRET = "webhook-secret"


@pytest.fixture
def github_repo(github_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample site with `forge: github` (conftest's github_site), and the webhook's secret in the environment."""
    monkeypatch.setenv("CONSULT_WEBHOOK_SECRET", SECRET)
    return github_site


def test_site_yml_forge_github_picks_the_github_forge(github_repo: Path, tmp_path: Path) -> None:
    settings = IntakeSettings.from_environment(github_repo, environ=intake_env(tmp_path / "data"))
    forge = make_forge(settings)
    assert isinstance(forge, GitHubForge) and forge.options.url is not None


def signed(event: dict) -> dict:
    body = json.dumps(event).encode()
    return {"content": body, "headers": {"x-github-event": "pull_request", "x-hub-signature-256": signature(SECRET.encode(), body)}}


def test_an_idea_reaches_editors_as_a_pull_request_and_merging_publishes_it(github_repo: Path, github, site_dir: Path, tmp_path: Path) -> None:
    with running_intake(github_repo, site_dir, tmp_path / "data") as running:
        intake = running.app.state.intake  # forge: github mounts /webhooks/github itself
        with running.client() as client:
            response = client.post("/ideas", data=IDEA, headers={"Origin": running.url})
            assert response.status_code == 303
            assert response.headers["location"].startswith("/intake/confirmation/TH-")
            reference = response.headers["location"].rsplit("/", 1)[1]
            wait_for(lambda: intake.store.get(reference).state == "proposed")
            pull = github.pulls_for(f"submissions/{reference}")[0]
            path = "content/ideas/getting-the-basics-right/water-fountains-on-every-ward-corridor.md"
            content = github.file(pull.head, path)
            assert f"reference: {reference}" in content and "sam@example.org" not in content
            assert "sam@example.org" not in pull.body and reference in pull.body
            assert {"submission", "idea", "challenge:getting-the-basics-right"} <= set(pull.labels)
            assert "With the editors" in client.get(f"/status/{reference}").text

            github.merge(pull.number)
            event = {"action": "closed", "number": pull.number, "pull_request": github.pull_json(pull)}
            assert client.post("/webhooks/github", **signed(event)).json() == {"updated": [reference]}
            assert intake.store.get(reference).state == "merged"
            assert "Published" in client.get(f"/status/{reference}").text
            assert github.file("main", path) == content

            comment = {"target": "idea:hot-food-for-staff-working-nights", "comment": "Yes please!", "consent": True}
            second = client.post("/comments", json=comment, headers={"Origin": running.url}).json()["reference"]
            wait_for(lambda: intake.store.get(second).state == "proposed")
            github.close(github.pulls_for(f"submissions/{second}")[0].number)  # a missed webhook
            proposed = [r.reference for r in intake.store.in_state("proposed")]
            assert reconcile(intake.forge, proposed, store_updater(intake.store, intake.forge)) == {second: ProposalState.CLOSED}
            assert client.get(f"/status/{second}", headers={"Accept": "application/json"}).json()["status"] == "closed"
    assert github.violations == [] and len(github.pulls) == 2


def test_the_worker_batches_a_backlog_beyond_the_hourly_budget(github_repo: Path, github, site_dir: Path, tmp_path: Path) -> None:
    with running_intake(github_repo, site_dir, tmp_path / "data", run_worker=False) as running:
        intake = running.app.state.intake
        small = intake.forge.options.__class__(**{**intake.forge.options.__dict__, "per_hour": 50, "batch_size": 8})
        intake.worker.forge = GitHubForge(small, env={"GITHUB_TOKEN": "test-token"})
        challenges = ["getting-the-basics-right", "feeling-empowered"]
        refs = [intake.store.add_now("idea", {**IDEA, "title": f"Idea number {n}", "challenge": challenges[n % 2]}, None) for n in range(20)]
        assert intake.worker.claim_size() == 80  # 20 > 50 // 5: batch_size × 10
        assert intake.worker.run_once(intake.worker.claim_size()) == 20  # batches of up to 8 per challenge
        assert {intake.store.get(r).state for r in refs} == {"proposed"}
        assert len(github.pulls) == 4 and all("batch" in p.labels for p in github.pulls.values())
        assert len({intake.store.get(r).locator for r in refs}) == 4
        assert intake.worker.run_once(intake.worker.claim_size()) == 0
    assert github.violations == []


def test_the_worker_loop_batches_a_backlog_beyond_the_hourly_budget(github_repo: Path, github, site_dir: Path, tmp_path: Path) -> None:
    """Worker.run() (the intake's own loop) claims a surge in large batches: none lost, none proposed twice."""
    with running_intake(github_repo, site_dir, tmp_path / "data", run_worker=False) as running:
        intake = running.app.state.intake
        small = intake.forge.options.__class__(**{**intake.forge.options.__dict__, "per_hour": 60, "batch_size": 8})
        intake.worker.forge = forge = GitHubForge(small, env={"GITHUB_TOKEN": "test-token"})
        assert forge.one_by_one_capacity() == 12
        challenges = ["getting-the-basics-right", "feeling-empowered"]
        refs = [
            intake.store.add_now("idea", {**IDEA, "title": f"Idea number {n}", "challenge": challenges[n % 2]}, None) for n in range(60)
        ]  # 60 > 12 an hour one by one, and more than the worker's usual claim of 25
        claims: list[int] = []
        run_once = intake.worker.run_once
        intake.worker.run_once = lambda batch=25: claims.append(batch) or run_once(batch)
        intake.worker.start()
        try:
            wait_for(lambda: {intake.store.get(r).state for r in refs} == {"proposed"}, timeout=60)
        finally:
            intake.worker.stop()
        assert claims[0] == 80, "a backlog beyond the hourly capacity is claimed in batch_size × 10"
        carried = [ref for p in github.pulls.values() for ref in references_in(p.body)]
        assert sorted(carried) == sorted(refs), "every submission in exactly one pull request"
        assert sorted(len(references_in(p.body)) for p in github.pulls.values()) == [6, 6, 8, 8, 8, 8, 8, 8]
        assert all("batch" in p.labels for p in github.pulls.values())
        assert {intake.store.get(r).locator for r in refs} == {github.pull_json(p)["html_url"] for p in github.pulls.values()}
    assert github.violations == [] and github.max_in_window(3600) <= 60


def test_a_closed_pull_request_shows_the_editors_public_reason(github_repo: Path, github, site_dir: Path, tmp_path: Path) -> None:
    with running_intake(github_repo, site_dir, tmp_path / "data") as running:
        intake = running.app.state.intake
        with running.client() as client:
            reference = client.post("/ideas", json=IDEA, headers={"Origin": running.url}).json()["reference"]
            wait_for(lambda: intake.store.get(reference).state == "proposed")
            pull = github.pulls_for(f"submissions/{reference}")[0]
            github.comment(pull.number, "Public reason: thanks, but a bot said so.", user_type="Bot")
            github.comment(pull.number, "Thanks for this.\n\npublic reason: an earlier draft")
            github.comment(pull.number, "Checked.\n\n```text\nPublic reason: It contained **personal details** we cannot publish.\n```")
            github.close(pull.number)
            event = {"action": "closed", "number": pull.number, "pull_request": github.pull_json(pull)}
            assert client.post("/webhooks/github", **signed(event)).json() == {"updated": [reference]}
            reason = "It contained personal details we cannot publish."
            answer = client.get(f"/status/{reference}", headers={"Accept": "application/json"}).json()
            assert answer == {"reference": reference, "status": "closed", "label": "Not published", "reason": reason}
            page = client.get(f"/status/{reference}").text
            assert "Not published" in page and reason in page
            assert client.post("/webhooks/github", content=b"{}", headers={"x-github-event": "pull_request"}).status_code == 401
    assert github.violations == []
