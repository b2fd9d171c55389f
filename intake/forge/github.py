"""The GitHub forge: each submission (or a batch of them) becomes a pull request, via github3.py.

Never lost, never duplicated: branch names are deterministic, every step
looks before it creates, and a retry completes whatever an earlier attempt
left half made (a branch without a pull request, a pull request without its
labels). Every request goes through a `Governor` (ratelimit.py), which keeps
to GitHub's primary and secondary limits and a client-side write budget.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import github3
from github3 import exceptions as gh_errors

from .base import Forge, ForgeUnavailable, Proposal, ProposalState
from .batching import plan
from .clock import Clock, SystemClock
from .github_api import ForgeConfigError, PullRequestConversation, ensure_labels, login
from .github_body import Change, batch_change, references_in, single_change
from .ratelimit import Budget, Governor, MemoryWriteLedger, WriteLedger

T = TypeVar("T")
WRITES_PER_PULL = 5
"""tree + commit + ref + pull request + labels."""
STATE_MAX_AGE = 30.0
"""Seconds a state answer may lag GitHub (webhooks are the fast path; this is the safety net)."""
SKEW = 120.0
"""Seconds of clock difference allowed between us and GitHub when listing what was updated since."""
REASON_LINE = re.compile(r"^[ \t>*_`]*public reason[*_`]*\s*:(.*)$", re.IGNORECASE | re.MULTILINE)
"""An editor's `Public reason: …` line in a pull request comment (handbook/docs/editors/reject.md)."""
REASON_MAX = 500
TRANSIENT = (gh_errors.TransportError, gh_errors.ServerError, gh_errors.IncompleteResponse)


@dataclass(frozen=True)
class GitHubOptions:
    repository: str
    base_branch: str = "main"
    url: str | None = None
    """GitHub Enterprise Server (or the test server); None for github.com."""
    site_url: str = ""
    """The public site's base URL, for links to published ideas and the moderation policy."""
    per_minute: int = 80
    per_hour: int = 500
    batch_size: int = 50
    attempts: int = 5
    """Tries of one idempotent step on transport errors and 5xx before giving up (ForgeUnavailable)."""
    timeout: tuple[float, float] = (4.0, 10.0)


class GitHubForge(Forge):
    """Proposes submissions as pull requests on one repository; see the module docstring."""

    batches = True

    def __init__(
        self, options: GitHubOptions, clock: Clock | None = None, env: Mapping[str, str] = os.environ, ledger: WriteLedger | None = None
    ) -> None:
        """`ledger`: where writes are counted (default: this process's memory); the intake passes its store's."""
        if "/" not in options.repository:
            raise ForgeConfigError("site.yml: github.repository must be set to owner/name when forge is github.")
        self.options = options
        self.clock = clock or SystemClock()
        self.env = env
        budget = Budget(options.per_minute, options.per_hour, ledger=ledger or MemoryWriteLedger())
        self.governor = Governor(self.clock, budget)
        self.owner, self.name = options.repository.split("/", 1)
        self._gh: github3.GitHub | None = None
        self._repo: Any = None
        self._labels: set[str] | None = None
        self._in_batch: dict[str, Change] = {}
        """reference → the batch it went out in (this process), so a retry finishes that batch."""
        self._deferred: dict[str, Exception] = {}
        self._index: dict[str, dict[str, Any]] | None = None
        self._index_at = 0.0

    # -- set-up ---------------------------------------------------------------

    @property
    def repo(self) -> Any:
        """The repository, logging in again when an App installation token has expired."""
        auth = getattr(self._gh.session, "auth", None) if self._gh else None
        if self._gh is None or getattr(auth, "expired", False):
            self._gh = login(self.options.url, self.governor, self.env, self.options.timeout)
            self._repo = None
        if self._repo is None:
            self._repo = self._gh.repository(self.owner, self.name)
        return self._repo

    @property
    def batch_size(self) -> int:
        return self.options.batch_size

    def one_by_one_capacity(self) -> int:
        return max(1, self.options.per_hour // WRITES_PER_PULL)

    # -- proposing ------------------------------------------------------------

    def propose(self, proposal: Proposal) -> str:
        ref = proposal.reference
        if ref in self._deferred:
            raise ForgeUnavailable(f"its batch could not be proposed: {self._deferred.pop(ref)}", 60)
        if ref in self._in_batch:  # finish the batch it went out in, never a second pull request
            return self._retrying(lambda: self._open(self._in_batch[ref]))["html_url"]
        carried = self._retrying(lambda: self._pull_index(float("inf"))).get(ref)
        if carried is not None and carried["head"]["ref"] != proposal.branch:
            return carried["html_url"]  # a batch made before this process started
        change = single_change(proposal, self.options.site_url, self._policy_url())
        return self._retrying(lambda: self._open(change))["html_url"]

    def propose_many(self, proposals: list[Proposal], on_proposed: Callable[[dict[str, str]], object] | None = None) -> dict[str, str]:
        """The worker's hook: singles while the budget can open them, else one pull request per challenge.

        `on_proposed` hears of each pull request as soon as it exists (reference → its address).

        Never raises: what could not be proposed is left out of the answer
        (and a later `propose` of it says ForgeUnavailable at once), so the
        caller retries it later rather than proposing it again alone.
        """
        done: dict[str, str] = {}
        for challenge, group in plan(proposals, self.capacity_now(), self.options.batch_size):
            try:
                if len(group) == 1:
                    made = {group[0].reference: self.propose(group[0])}
                else:
                    made = self.propose_batch(challenge, group)
                done |= made
                if on_proposed is not None:
                    on_proposed(made)
            except Exception as error:  # noqa: BLE001 - reported through the deferred proposals
                for p in group:
                    if p.reference not in done:
                        self._deferred[p.reference] = error
        return done

    def capacity_now(self) -> int:
        """Pull requests the hourly budget can still open, one by one, without waiting."""
        return self.governor.budget.left_this_hour(self.clock.time()) // WRITES_PER_PULL

    def propose_batch(self, challenge: str, proposals: list[Proposal]) -> dict[str, str]:
        if len(proposals) == 1:
            return {proposals[0].reference: self.propose(proposals[0])}
        first = proposals[0]
        single = self._retrying(lambda: self._find_pull(first.branch))
        done: dict[str, str] = {}
        if single is not None:  # an earlier single attempt got as far as a pull request
            done[first.reference] = single["html_url"]
            proposals = proposals[1:]
            if len(proposals) == 1:
                return done | {proposals[0].reference: self.propose(proposals[0])}
        change = batch_change(challenge, proposals, self.options.site_url, self._policy_url())
        for p in proposals:
            self._in_batch.setdefault(p.reference, change)
        pull = self._retrying(lambda: self._open(change))
        carried = references_in(pull.get("body")) or change.references
        return done | {ref: pull["html_url"] for ref in carried if any(p.reference == ref for p in proposals)}

    def _policy_url(self) -> str:
        return f"{self.options.site_url}/moderation/"

    def _retrying(self, step: Callable[[], T]) -> T:
        """Run an idempotent step, retrying transport errors and 5xx with back-off."""
        for attempt in range(self.options.attempts):
            try:
                return step()
            except TRANSIENT as error:
                last: Exception = error
                self.clock.sleep(min(300.0, 2.0 * 2**attempt))
            except gh_errors.ClientError as error:
                if error.code not in (403, 429):
                    raise
                raise ForgeUnavailable(f"GitHub still limits us after every wait: {error}", 3600) from error
        raise ForgeUnavailable(f"GitHub unavailable after {self.options.attempts} tries: {last}")

    def _open(self, change: Change) -> dict[str, Any]:
        """Find or make the branch, the pull request and its labels."""
        pull = self._find_pull(change.branch)
        if pull is None:
            if not self._branch_exists(change.branch):
                self._create_branch(change)
            pull = self._create_pull(change)
        self._ensure_pull_labels(pull, change.labels)
        if self._index is not None:
            self._index.update(dict.fromkeys(change.references, pull))
        return pull

    def _find_pull(self, branch: str) -> dict[str, Any] | None:
        for pull in self.repo.pull_requests(state="all", head=f"{self.owner}:{branch}"):
            if pull.head.ref == branch:
                return pull.as_dict()
        return None

    def _branch_exists(self, branch: str) -> bool:
        try:
            self.repo.ref(f"heads/{branch}")
        except gh_errors.NotFoundError:
            return False
        return True

    def _create_branch(self, change: Change) -> None:
        """One commit adding the files on top of the base branch, then the branch pointing at it."""
        base_sha = self.repo.ref(f"heads/{self.options.base_branch}").object.sha
        base_tree = self.repo.git_commit(base_sha).tree.sha
        entries = [{"path": p, "mode": "100644", "type": "blob", "content": c} for p, c in change.files.items()]
        tree = self.repo.create_tree(entries, base_tree=base_tree)
        commit = self.repo.create_commit(change.message, tree.sha, [base_sha])
        try:
            self.repo.create_ref(f"refs/heads/{change.branch}", commit.sha)
        except gh_errors.UnprocessableEntity as error:
            if "already exists" not in str(error):
                raise  # e.g. a sha GitHub does not know
            # An earlier attempt made it (its response was lost): that branch stands.

    def _create_pull(self, change: Change) -> dict[str, Any]:
        try:
            pull = self.repo.create_pull(change.title, self.options.base_branch, change.branch, change.body)
            return pull.as_dict()
        except (gh_errors.UnprocessableEntity, gh_errors.NotFoundError) as error:
            found = self._find_pull(change.branch)
            if found is not None:  # "A pull request already exists": an earlier attempt's
                return found
            raise gh_errors.TransportError(error) from error  # branch vanished meanwhile: redo the step

    def _ensure_pull_labels(self, pull: dict[str, Any], wanted: Sequence[str]) -> None:
        have = {label["name"] for label in pull.get("labels", [])}
        missing = [name for name in wanted if name not in have]
        if not missing:
            return
        self._labels = ensure_labels(self.repo, missing, self._labels)
        pull["labels"] = PullRequestConversation(self.repo, pull["number"]).add_labels(missing)

    # -- state ----------------------------------------------------------------

    def state(self, reference: str) -> ProposalState:
        """From the pull request index, refreshed (incrementally) when older than STATE_MAX_AGE."""
        return self._retrying(lambda: self._states([reference], max_age=STATE_MAX_AGE))[reference]

    def states(self, references: Sequence[str]) -> dict[str, ProposalState]:
        """Where each proposal stands, after one refresh of the index (a page or two when little changed)."""
        return self._retrying(lambda: self._states(references, max_age=0.0))

    def _pull_index(self, max_age: float) -> dict[str, dict[str, Any]]:
        """reference → its newest pull request; listed in full once, then only what was updated since."""
        now = self.clock.time()
        if self._index is not None and max_age > 0 and now - self._index_at <= max_age:
            return self._index
        since = None if self._index is None else self._index_at - SKEW
        index = {} if self._index is None else self._index
        for pull in self.repo.pull_requests(state="all", sort="updated", direction="desc"):
            data = pull.as_dict()
            if since is not None and _epoch(data.get("updated_at")) < since:
                break
            head = data["head"]["ref"]
            if head.startswith("submissions/"):
                for ref in references_in(data.get("body")) or {head.removeprefix("submissions/"): ""}:
                    if since is not None or ref not in index:
                        index[ref] = data
        self._index, self._index_at = index, now
        return index

    def _states(self, references: Sequence[str], max_age: float) -> dict[str, ProposalState]:
        index = self._pull_index(max_age)
        if max_age > 0 and any(ref not in index for ref in references):
            index = self._pull_index(0.0)  # made elsewhere since: an incremental look
        answer: dict[str, ProposalState] = {}
        outcomes: dict[int, dict[str, ProposalState]] = {}
        for ref in references:
            data = index.get(ref)
            if data is None:
                answer[ref] = ProposalState.MISSING
                continue
            if data["number"] not in outcomes:
                outcomes[data["number"]] = self._closed_outcomes(data)
            answer[ref] = outcomes[data["number"]].get(ref, ProposalState.CLOSED)
        return answer

    def public_reason(self, reference: str) -> str | None:
        """The text after the last `Public reason:` line an editor commented on a closed, unmerged pull request.

        Plain text, at most REASON_MAX characters; None when the pull request is
        open, merged or has no such line. Comments by bots are ignored.
        """
        return self._retrying(lambda: self._public_reason(reference))

    def _public_reason(self, reference: str) -> str | None:
        data = self._pull_index(STATE_MAX_AGE).get(reference)
        if data is None or data["state"] == "open":
            data = self._pull_index(0.0).get(reference)  # closed since the index was made
        if data is None or data["state"] != "closed" or data.get("merged_at"):
            return None
        found = None
        for comment in PullRequestConversation(self.repo, data["number"]).comments():
            if getattr(getattr(comment, "user", None), "type", "") == "Bot":
                continue
            for match in REASON_LINE.finditer(comment.body or ""):
                found = match.group(1)
        return plain_reason(found) if found is not None else None

    def pull_outcomes(self, number: int) -> dict[str, ProposalState]:
        """reference → state for every submission a pull request carries (for the webhook)."""
        return self._retrying(lambda: self._closed_outcomes(self.repo.pull_request(number).as_dict()))

    def _closed_outcomes(self, data: dict[str, Any]) -> dict[str, ProposalState]:
        """A merged pull request publishes the files still in it; the rest were rejected."""
        refs = references_in(data.get("body")) or {data["head"]["ref"].removeprefix("submissions/"): ""}
        if data["state"] == "open":
            return {ref: ProposalState.OPEN for ref in refs}
        if not data.get("merged_at"):
            return {ref: ProposalState.CLOSED for ref in refs}
        if len(refs) == 1:
            return {ref: ProposalState.MERGED for ref in refs}
        pull = self.repo.pull_request(data["number"])
        published = {f.filename for f in pull.files() if f.status in ("added", "modified")}
        return {ref: ProposalState.MERGED if path in published else ProposalState.CLOSED for ref, path in refs.items()}


def plain_reason(text: str) -> str | None:
    """A reason as plain text for the status page: no HTML or Markdown marks, one line, at most REASON_MAX."""
    text = re.sub(r"<[^>]*>", "", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](url) → text
    text = html.unescape(re.sub(r"[*`~]|(?<!\w)_+|_+(?!\w)", "", text))
    text = " ".join(text.split())
    if len(text) > REASON_MAX:
        text = text[: REASON_MAX - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"
    return text or None


def _epoch(stamp: str | None) -> float:
    """Seconds since the epoch for GitHub's '2026-11-25T12:00:00Z' (0 when missing)."""
    if not stamp:
        return 0.0
    return dt.datetime.fromisoformat(stamp).timestamp()


def forge_from_site(
    config: Any, clock: Clock | None = None, env: Mapping[str, str] = os.environ, site_url: str | None = None, ledger: WriteLedger | None = None
) -> GitHubForge:
    """The GitHub forge as site.yml (a generator.config.SiteConfig) describes it."""
    gh, pub = config.github, config.publishing
    options = GitHubOptions(
        repository=gh.repository,
        base_branch=gh.base_branch,
        url=gh.url or None,
        site_url=(site_url or config.base_url).rstrip("/"),
        per_minute=pub.content_per_minute,
        per_hour=pub.content_per_hour,
        batch_size=pub.batch_size,
    )
    return GitHubForge(options, clock, env, ledger)
