"""intake.forge.github_api: github3.py's public API only, every request governed, answered by the fake as GitHub does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from github_server import FakeGitHub

from intake.forge.github_api import NotOnGitHub, PullRequestConversation, client, ensure_labels, repository
from intake.forge.ratelimit import Budget, GovernedSession, Governor

PROJECT = Path(__file__).resolve().parents[2]
PRIVATE = re.compile(r"\._(build_url|post|put|patch|delete|get|json|iter|boolean|api)\b|\bsession\.request\(")


def test_intake_uses_no_private_github3_method_and_no_raw_session_request():
    found = [
        f"{path.relative_to(PROJECT)}:{n}: {line.strip()}"
        for path in sorted((PROJECT / "intake").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not found, "\n".join(found)


@pytest.fixture
def repo(github: FakeGitHub, clock):
    gh = client(github.url, Governor(clock, Budget()))
    gh.login(token="test-token")
    return repository(gh, f"{github.owner}/{github.name}")


def open_pull(forge, make_proposal) -> int:
    forge.propose(make_proposal(1))
    return 1


def test_every_request_goes_through_the_governed_session(repo):
    assert isinstance(repo.session, GovernedSession)


def test_a_missing_repository_or_pull_request_says_which(github: FakeGitHub, clock, repo):
    gh = client(github.url, Governor(clock, Budget()))
    gh.login(token="test-token")
    with pytest.raises(NotOnGitHub, match="nhs/elsewhere"):
        repository(gh, "nhs/elsewhere")
    with pytest.raises(NotOnGitHub, match="#41 in nhs/consult-site"):
        PullRequestConversation(repo, 41).labels()


def test_the_issue_of_a_pull_request_reads_as_github_sends_it(forge, github: FakeGitHub, make_proposal, repo):
    number = open_pull(forge, make_proposal)
    issue = PullRequestConversation(repo, number).issue
    assert issue.number == number and issue.title == github.pulls[number].title
    assert issue.html_url == f"{github.web_repo}/pull/{number}"
    assert issue.pull_request_urls["url"] == f"{github.api_repo}/pulls/{number}"
    assert {label.name for label in issue.original_labels} == set(github.pulls[number].labels)
    assert set(github.issue_json(github.pulls[number])) >= set(github.shape("issue"))


def test_comments_are_followed_across_pages_by_the_link_header(forge, github: FakeGitHub, make_proposal, repo):
    number = open_pull(forge, make_proposal)
    for n in range(130):
        github.comment(number, f"note {n}")
    conversation = PullRequestConversation(repo, number)
    assert [c.body for c in conversation.comments()] == [f"note {n}" for n in range(130)]
    pages = [r.path for r in github.requests if r.path.endswith(f"/issues/{number}/comments")]
    assert len(pages) == 2, "100 a page: two requests"
    status, _, headers = github.list_comments(str(number), {"per_page": "100"})
    assert status == 200
    assert headers["link"] == (
        f'<{github.api_repo}/issues/{number}/comments?per_page=100&page=2>; rel="next", '
        f'<{github.api_repo}/issues/{number}/comments?per_page=100&page=2>; rel="last"'
    )
    _, _, second = github.list_comments(str(number), {"per_page": "100", "page": "2"})
    assert 'rel="prev"' in second["link"] and 'rel="next"' not in second["link"]


def test_one_comment_is_posted_then_edited(forge, github: FakeGitHub, make_proposal, repo):
    number = open_pull(forge, make_proposal)
    conversation = PullRequestConversation(repo, number)
    made = conversation.upsert_comment("<!-- m --> first", conversation.find_comment("<!-- m -->"))
    again = conversation.upsert_comment("<!-- m --> second", conversation.find_comment("<!-- m -->"))
    assert made.id == again.id and [c["body"] for c in github.comments] == ["<!-- m --> second"]
    conversation.upsert_comment("<!-- m --> second", conversation.find_comment("<!-- m -->"))
    assert len([r for r in github.requests if r.method == "PATCH"]) == 1, "an unchanged comment is not sent again"


def test_labels_are_made_once_with_their_colour_added_and_removed(forge, github: FakeGitHub, make_proposal, repo):
    number = open_pull(forge, make_proposal)
    known = ensure_labels(repo, ["offensive-language", "very-short"])
    ensure_labels(repo, ["offensive-language"], known)
    assert github.labels["offensive-language"]["color"] == "d5281b"
    assert len(
        [r for r in github.requests if r.method == "POST" and r.path.endswith("/labels") and "/issues/" not in r.path and r.status == 201]
    ) == len(github.labels)
    conversation = PullRequestConversation(repo, number)
    names = {label["name"] for label in conversation.add_labels(["offensive-language"])}
    assert "offensive-language" in names and "offensive-language" in github.pulls[number].labels
    conversation.remove_label("offensive-language")
    assert "offensive-language" not in conversation.labels()
    conversation.remove_label("offensive-language")  # GitHub's 404 "Label does not exist": nothing left to do
