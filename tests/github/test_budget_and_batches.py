"""The write budget, labels made once, batching, and the pull request an editor reads."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import CHALLENGES, proposal

from intake.forge.base import Flag, ForgeUnavailable, ProposalState
from intake.forge.batching import plan
from intake.forge.github import WRITES_PER_PULL, GitHubForge


def test_budget_is_never_exceeded_and_waits_are_taken(options, clock, github):
    small = dataclasses.replace(options, per_minute=12, per_hour=30)
    forge = GitHubForge(small, clock, env={"GITHUB_TOKEN": "test-token"})
    github.per_minute, github.per_hour = 12, 30
    start = clock.time()
    for n in range(10):
        forge.propose(proposal(n))
    assert github.violations == []
    assert github.max_in_window(60) <= 12 and github.max_in_window(3600) <= 30
    assert len(github.creating()) == 10 * WRITES_PER_PULL + 3  # + the three labels, made once
    assert clock.time() - start >= 3600  # the hourly budget made it wait, in simulated time
    assert len(github.pulls) == 10


def test_writes_go_one_at_a_time(forge, github):
    import threading

    threads = [threading.Thread(target=forge.propose, args=(proposal(n),)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(github.pulls) == 4 and github.violations == []


def test_labels_are_created_once(options, clock, github):
    flagged = (Flag("possible-personal-data", "an email address"),)
    for run in range(2):  # two processes, one after the other
        forge = GitHubForge(options, clock, env={"GITHUB_TOKEN": "test-token"})
        for n in range(3):
            forge.propose(proposal(run * 10 + n, CHALLENGES[n % 2], flagged))
    made = [r for r in github.requests if r.method == "POST" and r.path.endswith("/labels") and "/issues/" not in r.path]
    assert len(made) == len(github.labels) == 5  # submission, idea, possible-personal-data, 2 challenges
    assert github.labels["possible-personal-data"]["color"] == "d5281b"


def test_body_has_the_table_flags_duplicates_and_checklist(forge, github):
    dup = Flag("possible-duplicate", "72% similar", (("Flexible rotas", "/challenges/free-from-bullying/ideas/flexible-rotas/"),))
    forge.propose(proposal(1, flags=(dup, Flag("offensive-language", "a listed word"))))
    body = github.pulls[1].body
    for text in (
        "| Challenge | free-from-bullying |",
        "| Credit | anonymous |",
        "**possible-duplicate**: 72% similar",
        "[Flexible rotas](https://talk.example.nhs.uk/challenges/free-from-bullying/ideas/flexible-rotas/)",
        "[moderation policy](https://talk.example.nhs.uk/moderation/)",
        "- [ ] Personal data removed",
        "- [ ] Tone within the moderation policy",
        "- [ ] Summary written",
        "- [ ] Tags set",
        "- [ ] Duplicates merged into one idea (supporters counted)",
    ):
        assert text in body
    assert "@" not in body
    assert {"possible-duplicate", "offensive-language"} <= set(github.pulls[1].labels)


def test_plan_batches_only_beyond_the_hourly_capacity():
    few = [proposal(n, CHALLENGES[n % 3]) for n in range(10)]
    assert all(len(group) == 1 for _, group in plan(few, capacity=100, batch_size=50))
    many = [proposal(n, CHALLENGES[n % 3]) for n in range(130)]
    groups = plan(many, capacity=100, batch_size=20)
    assert sorted(p.reference for _, g in groups for p in g) == sorted(p.reference for p in many)
    assert all(len(g) <= 20 and {p.challenge for p in g} == {c} for c, g in groups)
    assert groups[0][1][0] is many[0]


def test_batch_is_one_pull_request_per_challenge_and_editors_can_drop_one(forge, github):
    batch = [proposal(n) for n in range(7)]
    carried = forge.propose_batch(CHALLENGES[0], batch)
    assert set(carried) == {p.reference for p in batch} and len(set(carried.values())) == 1
    assert len(github.pulls) == 1
    pull = github.pulls[1]
    assert "batch" in pull.labels and "delete its file" in pull.body
    assert all(github.file(pull.head, p.path) == p.content for p in batch)
    assert len(github.creating()) == WRITES_PER_PULL + 4  # + labels submission, idea, challenge, batch
    github.delete_file(pull.head, batch[3].path)
    github.merge(1)
    states = forge.states([p.reference for p in batch])
    assert states.pop(batch[3].reference) is ProposalState.CLOSED
    assert set(states.values()) == {ProposalState.MERGED}
    assert github.file("main", batch[0].path) == batch[0].content
    assert github.file("main", batch[3].path) is None


def test_batch_retried_after_a_timeout_is_not_duplicated(forge, github):
    github.inject("POST", r"/pulls$", "timeout-after-write", hold=1.0)
    batch = [proposal(n) for n in range(5)]
    assert len(forge.propose_batch(CHALLENGES[0], batch)) == 5
    assert len(github.pulls) == 1 and github.violations == []


def test_batch_retry_with_a_grown_queue_carries_only_what_the_first_made(forge, github):
    first = [proposal(n) for n in range(4)]
    github.inject("POST", r"/issues/\d+/labels$", "502", times=5)
    with pytest.raises(ForgeUnavailable):  # the labels cannot be set: the pull request is made, the batch waits
        forge.propose_batch(CHALLENGES[0], first)
    grown = first + [proposal(n) for n in range(4, 6)]
    carried = forge.propose_batch(CHALLENGES[0], grown)
    assert set(carried) == {p.reference for p in first}  # the two newer stay queued
    assert len(github.pulls) == 1 and "batch" in github.pulls[1].labels


def test_batch_whose_oldest_was_already_proposed_alone(forge, github):
    lone = proposal(0)
    forge.propose(lone)
    carried = forge.propose_batch(CHALLENGES[0], [lone, proposal(1), proposal(2)])
    assert carried[lone.reference].endswith("/pull/1")
    assert len(github.pulls_for(lone.branch)) == 1 and len(github.pulls) == 2


def test_a_large_batch_body_stays_under_githubs_limit(forge, github):
    long = Flag("possible-personal-data", "x" * 2000)
    batch = [proposal(n, flags=(long,)) for n in range(60)]
    forge.propose_batch(CHALLENGES[0], batch)
    body = github.pulls[1].body
    assert len(body) < 65_536 and all(p.reference in body for p in batch)
    assert len(forge.states([p.reference for p in batch])) == 60


def test_propose_many_opens_singles_while_the_budget_can(forge, github):
    done = forge.propose_many([proposal(n, CHALLENGES[n % 2]) for n in range(6)])
    assert len(done) == 6 and len(github.pulls) == 6 and not any("batch" in p.labels for p in github.pulls.values())


def test_propose_many_batches_when_the_budget_cannot(options, clock, github):
    forge = GitHubForge(dataclasses.replace(options, per_hour=40, batch_size=5), clock, env={"GITHUB_TOKEN": "test-token"})
    many = [proposal(n, CHALLENGES[n % 2]) for n in range(12)]
    done = forge.propose_many(many)
    assert set(done) == {p.reference for p in many}
    assert len(github.pulls) == 4 and github.violations == []  # 6 + 6 per challenge, in batches of up to 5


def test_a_failed_batch_is_deferred_then_finished_never_proposed_alone(options, clock, github):
    forge = GitHubForge(dataclasses.replace(options, per_hour=20), clock, env={"GITHUB_TOKEN": "test-token"})
    many = [proposal(n) for n in range(6)]
    github.inject("POST", r"/issues/\d+/labels$", "502", times=5)
    assert forge.propose_many(many) == {}
    before = len(github.requests)
    for p in many:  # the worker's fallback, one at a time: told to wait, nothing sent
        with pytest.raises(ForgeUnavailable):
            forge.propose(p)
    assert len(github.requests) == before
    assert set(forge.propose_many(many)) == {p.reference for p in many}
    assert len(github.pulls) == 1 and set(github.pulls[1].labels) >= {"batch", "submission"}


def test_a_batch_made_before_a_restart_is_found_not_duplicated(options, clock, github):
    first = GitHubForge(options, clock, env={"GITHUB_TOKEN": "test-token"})
    batch = [proposal(n) for n in range(3)]
    url = first.propose_batch(CHALLENGES[0], batch)[batch[1].reference]
    restarted = GitHubForge(options, clock, env={"GITHUB_TOKEN": "test-token"})
    assert restarted.propose(batch[1]) == url
    assert len(github.pulls) == 1
