"""Every fault GitHub can throw at the forge: nothing lost, nothing duplicated, waits as GitHub asks."""

from __future__ import annotations

import pytest

from intake.forge.base import ForgeUnavailable, ProposalState


def assert_once(github, proposals) -> None:
    """Each proposal has exactly one pull request, its file on its branch, and no limit was broken."""
    for p in proposals:
        assert len(github.pulls_for(p.branch)) == 1, p.branch
        assert github.file(p.branch, p.path) == p.content
    assert github.violations == []


def test_a_proposal_becomes_one_pull_request(forge, github, make_proposal):
    p = make_proposal(1)
    url = forge.propose(p)
    assert url == f"{github.web_repo}/pull/1"
    assert_once(github, [p])
    pull = github.pulls[1]
    assert pull.title == p.title and pull.base == "main"
    assert set(pull.labels) == {"submission", "idea", f"challenge:{p.challenge}"}
    assert len(github.repo.commits[github.repo.refs[f"refs/heads/{p.branch}"]]["parents"]) == 1
    assert forge.state(p.reference) is ProposalState.OPEN


def test_enterprise_paths_are_used(forge, github, make_proposal):
    forge.propose(make_proposal(1))
    assert all(r.path.startswith(("/repos/", "/app/")) for r in github.requests)
    assert github.requests  # every one arrived under /api/v3 (the server strips it)


@pytest.mark.parametrize("retry_after", [1, 37, 300])
def test_secondary_limit_403_honours_retry_after(forge, github, make_proposal, retry_after):
    github.inject("POST", r"/pulls$", "secondary", retry_after=retry_after)
    p = make_proposal(1)
    forge.propose(p)
    assert forge.governor.waits == [retry_after]
    assert_once(github, [p])


def test_429_honours_retry_after(forge, github, make_proposal):
    github.inject("POST", r"/git/trees$", "429", retry_after=15)
    forge.propose(p := make_proposal(1))
    assert forge.governor.waits == [15]
    assert_once(github, [p])


def test_secondary_limit_without_retry_after_backs_off_from_a_minute(forge, github, make_proposal):
    github.inject("POST", r"/git/commits$", "secondary-no-retry-after", times=3)
    forge.propose(p := make_proposal(1))
    assert forge.governor.waits == [60, 120, 240]
    assert_once(github, [p])


def test_primary_limit_waits_until_the_reset(forge, github, clock, make_proposal):
    github.inject("POST", r"/git/refs$", "primary", retry_after=500)
    start = clock.time()
    forge.propose(p := make_proposal(1))
    assert len(forge.governor.waits) == 1 and 500 <= forge.governor.waits[0] <= 502
    assert clock.time() - start >= 500
    assert_once(github, [p])


def test_primary_limit_exhausted_waits_before_asking_again(options, clock, make_proposal):
    """With 12 requests an hour, the forge waits for the reset instead of sending a 13th."""
    import dataclasses

    from github_server import FakeGitHub

    from intake.forge.github import GitHubForge

    with FakeGitHub(clock, primary_limit=12) as small:
        forge = GitHubForge(dataclasses.replace(options, url=small.url), clock, env={"GITHUB_TOKEN": "test-token"})
        forge.propose(make_proposal(1))
        forge.propose(make_proposal(2))
        assert all(r.status != 403 for r in small.requests), "never sent a request with nothing remaining"
        assert len(small.pulls) == 2 and clock.time() - small.requests[0].time >= 3600


def test_502_is_retried_and_completed(forge, github, make_proposal):
    github.inject("POST", r"/git/trees$", "502", times=2)
    forge.propose(p := make_proposal(1))
    assert_once(github, [p])


def test_connection_reset_before_the_write(forge, github, make_proposal):
    github.inject("POST", r"/pulls$", "reset")
    forge.propose(p := make_proposal(1))
    assert_once(github, [p])


@pytest.mark.parametrize("step", [r"/git/refs$", r"/pulls$", r"/issues/\d+/labels$"])
def test_timeout_after_github_did_the_write(forge, github, make_proposal, step):
    github.inject("POST", step, "timeout-after-write", hold=1.0)
    forge.propose(p := make_proposal(1))
    assert_once(github, [p])
    assert sorted(github.pulls[1].labels) == sorted(set(github.pulls[1].labels))
    assert [r.fault for r in github.requests if r.fault] == ["timeout-after-write"]


def test_reset_after_write_on_labels_adds_them_once(forge, github, make_proposal):
    github.inject("POST", r"/issues/\d+/labels$", "reset-after-write")
    forge.propose(p := make_proposal(1))
    assert_once(github, [p])
    assert len(github.pulls[1].labels) == 3


def test_reference_already_exists_is_taken_as_made(forge, github, make_proposal):
    """The look-up says no branch (a stale replica), the create says it exists: carry on with it."""
    p = make_proposal(1)
    github.inject("POST", r"/pulls$", "reset", times=5)
    with pytest.raises(ForgeUnavailable):
        forge.propose(p)
    github.inject("GET", r"/git/ref/heads/submissions/", "404")
    forge.propose(p)
    assert any(r.status == 422 and r.path.endswith("/git/refs") for r in github.requests)
    assert_once(github, [p])


def test_branch_left_without_a_pull_request_is_completed(forge, github, make_proposal):
    p = make_proposal(1)
    github.inject("POST", r"/pulls$", "502", times=5)
    with pytest.raises(ForgeUnavailable):
        forge.propose(p)
    assert f"refs/heads/{p.branch}" in github.repo.refs and not github.pulls
    forge.propose(p)
    assert_once(github, [p])
    assert sum(1 for r in github.requests if r.path.endswith("/git/refs") and r.status == 201) == 1


def test_deleted_branch_404_is_made_again(forge, github, make_proposal):
    p = make_proposal(1)
    github.inject("POST", r"/pulls$", "reset", times=5)
    with pytest.raises(ForgeUnavailable):
        forge.propose(p)
    del github.repo.refs[f"refs/heads/{p.branch}"]  # someone deleted the half-made branch
    forge.propose(p)
    assert any(r.status == 404 and "/git/ref/heads/submissions/" in r.path for r in github.requests)
    assert_once(github, [p])


def test_injected_404_on_the_branch_look_up_is_retried(forge, github, make_proposal):
    github.inject("POST", r"/pulls$", "404")
    forge.propose(p := make_proposal(1))
    assert_once(github, [p])


def test_proposing_again_never_duplicates_even_after_a_decision(forge, github, make_proposal):
    p = make_proposal(1)
    first = forge.propose(p)
    github.close(1)
    assert forge.propose(p) == first
    assert len(github.pulls) == 1
    assert forge.state(p.reference) is ProposalState.CLOSED


def test_gives_up_cleanly_when_github_stays_down(forge, github, make_proposal):
    github.inject("POST", r"/git/trees$", "502", times=100)
    with pytest.raises(ForgeUnavailable):
        forge.propose(make_proposal(1))
    assert not github.pulls
