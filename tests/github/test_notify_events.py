"""Notify events with the GitHub forge (the fake GitHub server): decisions, and news of a published idea read
from the base branch through the API; no address in a pull request, a commit or a comment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake.catalogue import CatalogueHolder
from intake.forge.github import GitHubForge
from intake.notify.subscriptions import is_subscribed, subscribe
from intake.settings import IntakeSettings
from intake.store import Store
from intake.webhook import reconcile, store_updater
from intake.worker import Worker, make_forge
from tests.intake.conftest import IDEA, intake_env

ADDRESS = "sam.jones@example.nhs.uk"
PUBLIC = {k: v for k, v in IDEA.items() if k not in ("email", "notify", "consent", "website")}
IDEA_PATH = "content/ideas/getting-the-basics-right/water-fountains-on-every-ward-corridor.md"


@pytest.fixture
def worker(tmp_path: Path, github_site: Path) -> Iterator[Worker]:
    """The intake's worker for a site with `forge: github` pointing at the fake server."""
    repo = github_site
    settings = IntakeSettings.from_environment(repo, environ=intake_env(tmp_path / "data"), base_url="https://talk.example.nhs.uk")
    store = Store.from_settings(settings)
    forge = make_forge(settings)
    assert isinstance(forge, GitHubForge)
    yield Worker(settings, store, forge, CatalogueHolder(repo, settings.clock))
    store.close()


def send(worker: Worker, title: str) -> str:
    reference = worker.store.add_now("idea", {**PUBLIC, "title": title}, None)
    subscribe(worker.store, reference, "idea", ADDRESS)
    worker.run_once()
    assert worker.store.get(reference).state == "proposed"
    return reference


def decide(worker: Worker) -> int:
    """What the webhook (or the worker's reconcile) records, then the detector's pass."""
    proposed = [r.reference for r in worker.store.in_state("proposed")]
    reconcile(worker.forge, proposed, store_updater(worker.store, worker.forge))
    return worker.events.run_once(look_now=True)


def messages(worker: Worker) -> list[dict[str, object]]:
    rows = worker.store.conn.execute("SELECT key, email, template, personalisation FROM notify_messages ORDER BY created_at, key").fetchall()
    return [{**dict(r), "personalisation": json.loads(r["personalisation"])} for r in rows]


def commit_on_main(github, path: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """An editor commits a change to the base branch on GitHub."""
    with github.lock:
        ref = "refs/heads/main"
        files = dict(github.repo.files_at(github.repo.refs[ref]))
        files[path] = github.repo.blob(text.encode())
        github.repo.refs[ref] = github.repo.commit(f"Edit {path}", github.repo.tree(files), [github.repo.refs[ref]])


def test_published_not_published_and_news_through_github(worker: Worker, github) -> None:  # type: ignore[no-untyped-def]
    published = send(worker, "Water fountains on every ward corridor")
    rejected = send(worker, "Free parking for night staff")
    assert decide(worker) == 0
    github.merge(github.pulls_for(f"submissions/{published}")[0].number)
    pull = github.pulls_for(f"submissions/{rejected}")[0]
    github.comment(pull.number, "Public reason: An idea like this is already published.")
    github.close(pull.number)
    assert decide(worker) == 2
    by_key = {m["key"]: m for m in messages(worker)}
    assert by_key[f"{published}:published"]["personalisation"]["url"] == "https://talk.example.nhs.uk/ideas/water-fountains-on-every-ward-corridor/"
    assert by_key[f"{rejected}:not-published"]["personalisation"]["reason"] == "An idea like this is already published."
    assert not is_subscribed(worker.store, rejected)
    before = len(github.requests)
    assert decide(worker) == 0
    assert len(github.requests) - before <= 3, "nothing changed: the branch's head (and the pull request index) is all that is asked"

    text = github.file("main", IDEA_PATH)
    assert text is not None and "status: waiting" in text
    text = text.replace("status: waiting", "status: adopted\nresponse:\n  date: 2026-12-01\n  by: Estates team\n  text: Fountains go in by March.")
    commit_on_main(github, IDEA_PATH, text)
    assert decide(worker) == 1
    news = messages(worker)[-1]
    assert news["template"] == "idea_update" and "‘Adopted’" in news["personalisation"]["change"]
    assert decide(worker) == 0

    commit_on_main(
        github,
        "content/updates/water.md",
        '---\ntitle: "You said, we did: water"\ndate: 2026-12-02\nsummary: "Fountains on every ward corridor, from this month."\nideas:\n  - water-fountains-on-every-ward-corridor\n---\n\nStarted.\n',
    )
    assert decide(worker) == 1
    assert messages(worker)[-1]["key"] == f"{published}:you-said-we-did:water"
    assert decide(worker) == 0

    for pull in github.pulls.values():
        assert ADDRESS not in (pull.body or "") and ADDRESS not in pull.title
    assert all(ADDRESS not in c["body"] for c in github.comments)
    assert all(ADDRESS.encode() not in blob for blob in github.repo.blobs.values())
    assert all(ADDRESS not in c["message"] for c in github.repo.commits.values())
    assert github.violations == []
