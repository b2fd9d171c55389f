"""GitHub through github3.py's public API, every request through a Governor: for the forge and `consult moderate`.

- `client` / `login`: a github3.py client on a `GovernedSession` (ratelimit.py),
  logged in as a GitHub App installation or with a token;
- `ensure_labels`: the repository's labels, each created once with its colour;
- `PullRequestConversation`: one pull request's labels, comments and changed
  files (GitHub keeps a pull request's labels and comments on its issue).

Pagination is github3.py's (it follows GitHub's Link headers, 100 a page).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import github3
from github3 import exceptions as gh_errors
from github3.issues.comment import IssueComment
from github3.issues.issue import Issue
from github3.repos.repo import Repository

from .github_body import DEFAULT_COLOUR, LABEL_COLOURS
from .ratelimit import GovernedSession, Governor

TIMEOUT = (4.0, 10.0)
"""Seconds to connect and to read one response."""


class ForgeConfigError(Exception):
    """The GitHub forge is selected but cannot be set up (missing repository or credentials)."""


class NotOnGitHub(LookupError):
    """GitHub has no such repository or pull request (or the credentials cannot see it)."""


def client(url: str | None, governor: Governor, timeout: tuple[float, float] = TIMEOUT) -> github3.GitHub:
    """A github3.py client, not yet logged in, whose every request goes through `governor`.

    `url`: a GitHub Enterprise Server (or the test server); None for github.com.
    """
    session = GovernedSession(governor, timeout)
    return github3.GitHubEnterprise(url, session=session) if url else github3.GitHub(session=session)


def login(url: str | None, governor: Governor, env: Mapping[str, str] = os.environ, timeout: tuple[float, float] = TIMEOUT) -> github3.GitHub:
    """A governed client logged in as the App installation (preferred) or with GITHUB_TOKEN."""
    gh = client(url, governor, timeout)
    app_id, key_file, installation = (env.get(k) for k in ("CONSULT_GITHUB_APP_ID", "CONSULT_GITHUB_APP_KEY_FILE", "CONSULT_GITHUB_INSTALLATION_ID"))
    if app_id and key_file and installation:
        gh.login_as_app_installation(Path(key_file).read_bytes(), app_id.strip(), int(installation))
    elif env.get("GITHUB_TOKEN"):
        gh.login(token=env["GITHUB_TOKEN"])
    else:
        raise ForgeConfigError(
            "forge: github needs credentials in the environment: CONSULT_GITHUB_APP_ID, "
            "CONSULT_GITHUB_APP_KEY_FILE and CONSULT_GITHUB_INSTALLATION_ID (a GitHub App, recommended), "
            "or GITHUB_TOKEN."
        )
    return gh


def repository(gh: github3.GitHub, full_name: str) -> Repository:
    """The repository `owner/name`; NotOnGitHub when GitHub does not show it to these credentials."""
    owner, _, name = full_name.partition("/")
    try:
        repo = gh.repository(owner, name)
    except gh_errors.NotFoundError:
        repo = None
    if repo is None:
        raise NotOnGitHub(f"GitHub has no repository {full_name} that these credentials can see.")
    return repo


def ensure_labels(repo: Repository, names: Iterable[str], known: set[str] | None = None) -> set[str]:
    """Create the labels `repo` lacks (colour and description from github_body.LABEL_COLOURS).

    `known`: the names an earlier call returned, so the labels are listed only once.
    Returns the names now known to exist.
    """
    known = {label.name for label in repo.labels()} if known is None else known
    for name in names:
        if name in known:
            continue
        colour, description = LABEL_COLOURS.get(name, DEFAULT_COLOUR)
        try:
            repo.create_label(name, colour, description or None)
        except gh_errors.UnprocessableEntity:
            pass  # already_exists: made by another run, or by an attempt whose answer was lost
        known.add(name)
    return known


class PullRequestConversation:
    """One pull request's labels, comments and changed files."""

    def __init__(self, repo: Repository, number: int) -> None:
        self.repo, self.number = repo, number
        self._issue: Issue | None = None

    @property
    def issue(self) -> Issue:
        """The pull request's issue (fetched once), where its labels and comments live."""
        if self._issue is None:
            try:
                self._issue = self.repo.issue(self.number)
            except gh_errors.NotFoundError:
                self._issue = None
            if self._issue is None:
                raise NotOnGitHub(self._missing())
        return self._issue

    def _missing(self) -> str:
        return f"GitHub has no pull request #{self.number} in {self.repo.full_name}."

    def changed_files(self) -> list[str]:
        """Paths the pull request adds, changes or removes (GitHub's "list pull request files")."""
        try:
            pull = self.repo.pull_request(self.number)
        except gh_errors.NotFoundError:
            pull = None
        if pull is None:
            raise NotOnGitHub(self._missing())
        return [f.filename for f in pull.files()]

    def labels(self) -> set[str]:
        return {label.name for label in self.issue.labels()}

    def add_labels(self, names: Iterable[str]) -> list[dict[str, Any]]:
        """Add labels (GitHub makes unknown ones without a colour: call ensure_labels first); returns all of them."""
        return [label.as_dict() for label in self.issue.add_labels(*names)]

    def remove_label(self, name: str) -> None:
        """Take a label off; one already gone (GitHub's 404 "Label does not exist") is no error."""
        try:
            self.issue.remove_label(name)
        except gh_errors.NotFoundError:
            pass

    def comments(self) -> Iterator[IssueComment]:
        """Every comment, oldest first."""
        return self.issue.comments()

    def find_comment(self, marker: str) -> IssueComment | None:
        """The first comment whose text holds `marker`."""
        return next((c for c in self.comments() if marker in (c.body or "")), None)

    def upsert_comment(self, body: str, existing: IssueComment | None) -> IssueComment:
        """Edit `existing` (only when its text changed), or post `body` as a new comment."""
        if existing is None:
            made = self.issue.create_comment(body)
            if made is None:
                raise ValueError("A comment cannot be empty.")
            return made
        if existing.body != body and not existing.edit(body):
            raise ValueError("A comment cannot be empty.")
        return existing
