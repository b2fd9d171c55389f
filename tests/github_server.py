"""A stateful fake of GitHub's REST API on 127.0.0.1, for the GitHub forge's tests and benchmark.

It keeps a repository's git objects (blobs, trees, commits), refs, pull
requests (each also an issue, GET /issues/{n}), labels and comments, and
answers every request github3.py's public API makes for the forge and
`consult moderate` with the shapes, status codes, Link headers (next, last,
prev, first) and rate-limit headers real GitHub sends
(tests/github/recorded_shapes.json comes from real recordings). It serves both `/repos/...` and the Enterprise prefix
`/api/v3/...` that github3.py's `GitHubEnterprise(url)` uses.

It runs on an injected clock (shared with the client in tests), enforces the
primary limit and the secondary limits (80 content-creating requests per
minute, 500 per hour) and records every request, so tests can assert budgets
and waits. `inject()` adds faults: secondary-limit 403s, 429, 502, connection
resets, a timeout after the write was done, 404s.

    with FakeGitHub(clock) as server:
        server.url            # base for GitHubEnterprise(url)
        server.inject("POST", r"/pulls$", "timeout-after-write")
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

SHAPES = json.loads((Path(__file__).parent / "github" / "recorded_shapes.json").read_text())["shapes"]
DOCS = "https://docs.github.com/rest"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
FAULT_KINDS = {
    "secondary",
    "secondary-no-retry-after",
    "primary",
    "429",
    "502",
    "reset",
    "reset-after-write",
    "timeout-after-write",
    "404",
}


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    kind: str
    times: int = 1
    retry_after: int | None = 60
    hold: float = 1.0
    """Real seconds a timeout-after-write holds the connection before dropping it."""


@dataclass
class Record:
    """One request as the server saw it."""

    time: float
    method: str
    path: str
    status: int
    creating: bool
    fault: str | None = None


@dataclass
class Pull:
    number: int
    title: str
    body: str
    head: str
    base: str
    head_sha: str
    merge_base: str
    created_at: float
    updated_at: float = 0.0
    state: str = "open"
    merged_at: float | None = None
    closed_at: float | None = None
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=list)


def _sha(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _iso(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Repo:
    """The git side: blobs, flat trees (path → blob sha), commits, refs."""

    def __init__(self, files: dict[str, str], branch: str) -> None:
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, dict[str, str]] = {}
        self.commits: dict[str, dict[str, Any]] = {}
        self.refs: dict[str, str] = {}
        root = self.commit("Initial content", self.tree({p: self.blob(c.encode()) for p, c in files.items()}), [])
        self.refs[f"refs/heads/{branch}"] = root

    def blob(self, data: bytes) -> str:
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        self.blobs[sha] = data
        return sha

    def tree(self, entries: dict[str, str]) -> str:
        sha = _sha("tree", sorted(entries.items()))
        self.trees[sha] = dict(entries)
        return sha

    def commit(self, message: str, tree: str, parents: list[str]) -> str:
        sha = _sha("commit", message, tree, parents, len(self.commits))
        self.commits[sha] = {"message": message, "tree": tree, "parents": parents}
        return sha

    def files_at(self, commit: str) -> dict[str, str]:
        return self.trees[self.commits[commit]["tree"]]

    def ancestors(self, commit: str) -> list[str]:
        seen, todo = [], [commit]
        while todo:
            sha = todo.pop()
            if sha not in seen:
                seen.append(sha)
                todo.extend(self.commits[sha]["parents"])
        return seen


class FakeGitHub:
    """The server; see the module docstring. Thread-safe; one lock around all state."""

    def __init__(
        self,
        clock: Any,
        owner: str = "nhs",
        name: str = "consult-site",
        files: dict[str, str] | None = None,
        branch: str = "main",
        tokens: tuple[str, ...] = ("test-token",),
        primary_limit: int = 5000,
        per_minute: int = 80,
        per_hour: int = 500,
        app_public_key: bytes | None = None,
    ) -> None:
        self.clock, self.owner, self.name, self.branch = clock, owner, name, branch
        self.tokens = set(tokens)
        self.primary_limit, self.per_minute, self.per_hour = primary_limit, per_minute, per_hour
        self.app_public_key = app_public_key
        self.repo = Repo(files or {"README.md": "# Site\n"}, branch)
        self.pulls: dict[int, Pull] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.comments: list[dict[str, Any]] = []
        """Issue comments on pull requests, oldest first; each has an extra `issue` (its pull request's number)."""
        self.faults: list[Fault] = []
        self.requests: list[Record] = []
        self.violations: list[Record] = []
        """Content-creating requests that broke the secondary limit (tests assert there are none)."""
        self.window_start: float | None = None
        self.used = 0
        self.lock = threading.RLock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.api = f"{self.url}/api/v3"
        self.api_repo = f"{self.api}/repos/{owner}/{name}"
        self.web_repo = f"{self.url}/{owner}/{name}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test helpers -----------------------------------------------------------

    def inject(self, method: str, path: str, kind: str, times: int = 1, **options: Any) -> None:
        """Make the next `times` requests matching method and path (a regex) fail as `kind`."""
        assert kind in FAULT_KINDS, kind
        self.faults.append(Fault(method, re.compile(path), kind, times, **options))

    def creating(self) -> list[Record]:
        return [r for r in self.requests if r.creating]

    def max_in_window(self, seconds: float) -> int:
        """Most content-creating requests received within any `seconds`-long window."""
        times = [r.time for r in self.creating()]
        best, start = 0, 0
        for end, t in enumerate(times):
            while times[start] <= t - seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def open_pulls(self) -> list[Pull]:
        return [p for p in self.pulls.values() if p.state == "open"]

    def pulls_for(self, head: str) -> list[Pull]:
        return [p for p in self.pulls.values() if p.head == head]

    def file(self, ref: str, path: str) -> str | None:
        sha = self.repo.refs.get(f"refs/heads/{ref}")
        blob = self.repo.files_at(sha).get(path) if sha else None
        return None if blob is None else self.repo.blobs[blob].decode()

    def merge(self, number: int) -> None:
        """An editor merges a pull request (as PUT /pulls/{n}/merge)."""
        with self.lock:
            self._merge(self.pulls[number])

    def close(self, number: int, delete_branch: bool = True) -> None:
        """An editor closes a pull request without merging, and deletes its branch."""
        with self.lock:
            pull = self.pulls[number]
            pull.state, pull.closed_at = "closed", self.clock.time()
            pull.updated_at = pull.closed_at
            if delete_branch:
                self.repo.refs.pop(f"refs/heads/{pull.head}", None)

    def delete_file(self, branch: str, path: str) -> None:
        """An editor removes one file from a branch (rejecting one submission of a batch)."""
        with self.lock:
            ref = f"refs/heads/{branch}"
            files = dict(self.repo.files_at(self.repo.refs[ref]))
            files.pop(path)
            self.repo.refs[ref] = self.repo.commit(f"Remove {path}", self.repo.tree(files), [self.repo.refs[ref]])
            for pull in self.pulls_for(branch):
                pull.head_sha, pull.updated_at = self.repo.refs[ref], self.clock.time()

    # -- shapes -----------------------------------------------------------------

    def shape(self, name: str) -> Any:
        text = json.dumps(SHAPES[name])
        for key, value in (("{API_REPO}", self.api_repo), ("{WEB_REPO}", self.web_repo), ("{API}", self.api), ("{WEB}", self.url)):
            text = text.replace(key, value)
        return json.loads(text)

    def repository_json(self) -> dict[str, Any]:
        data = self.shape("repository")
        data.update(name=self.name, full_name=f"{self.owner}/{self.name}", default_branch=self.branch, url=self.api_repo, html_url=self.web_repo)
        data["owner"]["login"] = self.owner
        return data

    def ref_json(self, ref: str) -> dict[str, Any]:
        sha = self.repo.refs[ref]
        return {
            "ref": ref,
            "node_id": "REF_" + sha[:10],
            "url": f"{self.api_repo}/git/{ref}",
            "object": {"sha": sha, "type": "commit", "url": f"{self.api_repo}/git/commits/{sha}"},
        }

    def commit_json(self, sha: str) -> dict[str, Any]:
        c = self.repo.commits[sha]
        person = {"name": "consult-bot[bot]", "email": "bot@users.noreply.github.com", "date": _iso(self.clock.time())}
        return {
            "sha": sha,
            "node_id": "C_" + sha[:10],
            "url": f"{self.api_repo}/git/commits/{sha}",
            "html_url": f"{self.web_repo}/commit/{sha}",
            "author": person,
            "committer": person,
            "message": c["message"],
            "tree": {"sha": c["tree"], "url": f"{self.api_repo}/git/trees/{c['tree']}"},
            "parents": [{"sha": p, "url": f"{self.api_repo}/git/commits/{p}", "html_url": f"{self.web_repo}/commit/{p}"} for p in c["parents"]],
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        }

    def tree_json(self, sha: str) -> dict[str, Any]:
        entries = [
            {"path": p, "mode": "100644", "type": "blob", "sha": b, "size": len(self.repo.blobs[b]), "url": f"{self.api_repo}/git/blobs/{b}"}
            for p, b in sorted(self.repo.trees[sha].items())
        ]
        return {"sha": sha, "url": f"{self.api_repo}/git/trees/{sha}", "tree": entries, "truncated": False}

    def label_json(self, name: str) -> dict[str, Any]:
        return self.labels[name]

    def pull_json(self, pull: Pull) -> dict[str, Any]:
        data = self.shape("pull")
        repo = self.repository_json()
        api, web = f"{self.api_repo}/pulls/{pull.number}", f"{self.web_repo}/pull/{pull.number}"
        data.update(
            url=api,
            html_url=web,
            id=1000 + pull.number,
            node_id=f"PR_{pull.number}",
            number=pull.number,
            diff_url=f"{web}.diff",
            patch_url=f"{web}.patch",
            issue_url=f"{self.api_repo}/issues/{pull.number}",
            state=pull.state,
            title=pull.title,
            body=pull.body,
            body_text=pull.body,
            body_html=pull.body,
            created_at=_iso(pull.created_at),
            updated_at=_iso(pull.updated_at or pull.created_at),
            closed_at=_iso(pull.closed_at),
            merged_at=_iso(pull.merged_at),
            merge_commit_sha=pull.merge_commit_sha,
            merged=pull.merged_at is not None,
            labels=[self.labels[n] for n in pull.labels],
            draft=False,
            commits=1,
            comments=sum(1 for c in self.comments if c["issue"] == pull.number),
            commits_url=f"{api}/commits",
            review_comments_url=f"{api}/comments",
            comments_url=f"{self.api_repo}/issues/{pull.number}/comments",
            statuses_url=f"{self.api_repo}/statuses/{pull.head_sha}",
        )
        data["_links"] = {
            key: {"href": href}
            for key, href in (
                ("self", api),
                ("html", web),
                ("issue", f"{self.api_repo}/issues/{pull.number}"),
                ("comments", f"{self.api_repo}/issues/{pull.number}/comments"),
                ("review_comments", f"{api}/comments"),
                ("review_comment", f"{self.api_repo}/pulls/comments{{/number}}"),
                ("commits", f"{api}/commits"),
                ("statuses", f"{self.api_repo}/statuses/{pull.head_sha}"),
            )
        }
        data["head"].update(ref=pull.head, sha=pull.head_sha, label=f"{self.owner}:{pull.head}", repo=repo)
        data["base"].update(ref=pull.base, sha=self.repo.refs.get(f"refs/heads/{pull.base}", ""), label=f"{self.owner}:{pull.base}", repo=repo)
        return data

    def issue_json(self, pull: Pull) -> dict[str, Any]:
        """A pull request as GET /issues/{n} shows it (every pull request is an issue too)."""
        data = self.shape("issue")
        api, web = f"{self.api_repo}/issues/{pull.number}", f"{self.web_repo}/pull/{pull.number}"
        closed_by = copy.deepcopy(data["closed_by"]) if pull.state == "closed" else None
        data.update(
            url=api,
            html_url=web,
            labels_url=f"{api}/labels{{/name}}",
            comments_url=f"{api}/comments",
            events_url=f"{api}/events",
            id=2000 + pull.number,
            node_id=f"I_{pull.number}",
            number=pull.number,
            title=pull.title,
            body=pull.body,
            body_text=pull.body,
            body_html=pull.body,
            state=pull.state,
            labels=[self.labels[n] for n in pull.labels],
            assignee=None,
            assignees=[],
            milestone=None,
            comments=sum(1 for c in self.comments if c["issue"] == pull.number),
            closed_by=closed_by,
            created_at=_iso(pull.created_at),
            updated_at=_iso(pull.updated_at or pull.created_at),
            closed_at=_iso(pull.closed_at),
            pull_request={
                "url": f"{self.api_repo}/pulls/{pull.number}",
                "html_url": web,
                "diff_url": f"{web}.diff",
                "patch_url": f"{web}.patch",
                "merged_at": _iso(pull.merged_at),
            },
        )
        return data

    def file_json(self, path: str, ref: str, blob: str) -> dict[str, Any]:
        data = self.shape("file")
        content = self.repo.blobs[blob]
        data.update(
            name=path.rsplit("/", 1)[-1],
            path=path,
            sha=blob,
            size=len(content),
            url=f"{self.api_repo}/contents/{quote(path)}?ref={ref}",
            html_url=f"{self.web_repo}/blob/{ref}/{path}",
            git_url=f"{self.api_repo}/git/blobs/{blob}",
            download_url=f"{self.web_repo}/raw/{ref}/{path}",
            content=base64.encodebytes(content).decode(),
            encoding="base64",
        )
        return data

    # -- the limits ---------------------------------------------------------------

    def rate_headers(self) -> dict[str, str]:
        now = self.clock.time()
        if self.window_start is None or now >= self.window_start + 3600:
            self.window_start, self.used = now, 0
        return {
            "x-ratelimit-limit": str(self.primary_limit),
            "x-ratelimit-remaining": str(max(0, self.primary_limit - self.used)),
            "x-ratelimit-reset": str(int(self.window_start + 3600)),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": "core",
        }

    def over_secondary(self, now: float) -> bool:
        """True when this request (already recorded) makes more than the limits allow."""
        times = [r.time for r in self.creating()]
        in_minute = sum(1 for t in times if t > now - 60)
        in_hour = sum(1 for t in times if t > now - 3600)
        return in_minute > self.per_minute or in_hour > self.per_hour

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.search(path):
                fault.times -= 1
                return fault
        return None

    # -- routing ---------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        prefix = f"/repos/{self.owner}/{self.name}"
        if method == "POST" and re.fullmatch(r"/app/installations/\d+/access_tokens", path):
            return (
                201,
                {"token": "test-token", "expires_at": _iso(time.time() + 3600), "permissions": {"contents": "write", "pull_requests": "write"}},
                {},
            )
        if path == "/rate_limit":
            return 200, {"resources": {"core": {}}}, {}
        if path == prefix and method == "GET":
            return 200, self.repository_json(), {}
        if not path.startswith(prefix + "/"):
            return 404, None, {}
        rest = path[len(prefix) :]
        for pattern, verb, handler in self.routes():
            match = re.fullmatch(pattern, rest)
            if match and verb == method:
                return handler(*[unquote(g) for g in match.groups()], query=query, body=body)
        return 404, None, {}

    def routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any, dict[str, str]]]]]:
        return [
            (r"/git/ref/(.+)", "GET", self.get_ref),
            (r"/git/matching-refs/(.*)", "GET", self.matching_refs),
            (r"/git/refs", "POST", self.create_ref),
            (r"/git/refs/(.+)", "PATCH", self.update_ref),
            (r"/git/refs/(.+)", "DELETE", self.delete_ref),
            (r"/git/commits/([0-9a-f]{40})", "GET", lambda sha, **_: self._found(sha in self.repo.commits, lambda: self.commit_json(sha))),
            (r"/commits/(.+)", "GET", self.get_commit),
            (r"/git/trees", "POST", self.create_tree),
            (r"/git/trees/([0-9a-f]{40})", "GET", lambda sha, **_: self._found(sha in self.repo.trees, lambda: self.tree_json(sha))),
            (r"/git/commits", "POST", self.create_commit),
            (r"/contents/(.+)", "GET", self.get_contents),
            (r"/contents/(.+)", "PUT", self.put_contents),
            (r"/pulls", "GET", self.list_pulls),
            (r"/pulls", "POST", self.create_pull),
            (r"/pulls/(\d+)", "GET", lambda n, **_: self._found(int(n) in self.pulls, lambda: self.pull_json(self.pulls[int(n)]))),
            (r"/pulls/(\d+)", "PATCH", self.update_pull),
            (r"/pulls/(\d+)/merge", "GET", lambda n, **_: (204 if int(n) in self.pulls and self.pulls[int(n)].merged_at else 404, None, {})),
            (r"/pulls/(\d+)/merge", "PUT", self.merge_pull),
            (r"/pulls/(\d+)/files", "GET", self.pull_files),
            (r"/labels", "GET", lambda **kw: self._page(list(self.labels.values()), kw["query"], "/labels")),
            (r"/labels/(.+)", "GET", lambda n, **_: self._found(n in self.labels, lambda: self.labels[n])),
            (r"/labels", "POST", self.create_label),
            (r"/issues/(\d+)/labels", "POST", self.add_labels),
            (r"/issues/(\d+)", "GET", lambda n, **_: self._found(int(n) in self.pulls, lambda: self.issue_json(self.pulls[int(n)]))),
            (r"/issues/(\d+)/labels", "GET", self.issue_labels),
            (r"/issues/(\d+)/labels/(.+)", "DELETE", self.remove_label),
            (r"/issues/(\d+)/comments", "GET", self.list_comments),
            (r"/issues/(\d+)/comments", "POST", self.create_comment),
            (r"/issues/comments/(\d+)", "PATCH", self.edit_comment),
        ]

    @staticmethod
    def _found(ok: bool, make: Callable[[], Any]) -> tuple[int, Any, dict[str, str]]:
        return (200, make(), {}) if ok else (404, None, {})

    def _page(self, items: list[Any], query: dict[str, str], path: str) -> tuple[int, Any, dict[str, str]]:
        """One page of a list, with the Link header GitHub sends (next and last, prev and first)."""
        per_page = min(100, int(query.get("per_page", 30)))
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        rest = "".join(f"{k}={quote(v)}&" for k, v in query.items() if k != "page")
        links = []
        if page < last:
            links += [(page + 1, "next"), (last, "last")]
        if page > 1:
            links += [(page - 1, "prev"), (1, "first")]
        headers = {"link": ", ".join(f'<{self.api_repo}{path}?{rest}page={n}>; rel="{rel}"' for n, rel in links)} if links else {}
        return 200, chunk, headers

    # -- git ----------------------------------------------------------------------------

    def get_ref(self, ref: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        return self._found(f"refs/{ref}" in self.repo.refs, lambda: self.ref_json(f"refs/{ref}"))

    def matching_refs(self, prefix: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, [self.ref_json(r) for r in sorted(self.repo.refs) if r.startswith(f"refs/{prefix}")], {}

    def create_ref(self, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        ref, sha = body.get("ref", ""), body.get("sha", "")
        if ref in self.repo.refs:
            return 422, {"message": "Reference already exists", "documentation_url": f"{DOCS}/git/refs#create-a-reference"}, {}
        if sha not in self.repo.commits:
            return 422, {"message": "Object does not exist", "documentation_url": f"{DOCS}/git/refs#create-a-reference"}, {}
        self.repo.refs[ref] = sha
        return 201, self.ref_json(ref), {"location": f"{self.api_repo}/git/{ref}"}

    def update_ref(self, ref: str, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        if f"refs/{ref}" not in self.repo.refs:
            return 422, {"message": "Reference does not exist", "documentation_url": DOCS}, {}
        self.repo.refs[f"refs/{ref}"] = body["sha"]
        return 200, self.ref_json(f"refs/{ref}"), {}

    def delete_ref(self, ref: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        if self.repo.refs.pop(f"refs/{ref}", None) is None:
            return 422, {"message": "Reference does not exist", "documentation_url": DOCS}, {}
        return 204, None, {}

    def get_commit(self, ref: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        sha = self.repo.refs.get(f"refs/heads/{ref}", ref)
        if sha not in self.repo.commits:
            return 422, {"message": f"No commit found for SHA: {ref}", "documentation_url": DOCS}, {}
        data = self.shape("commit")
        data.update(sha=sha, url=f"{self.api_repo}/commits/{sha}", html_url=f"{self.web_repo}/commit/{sha}")
        data["commit"]["message"] = self.repo.commits[sha]["message"]
        return 200, data, {}

    def create_tree(self, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        base = body.get("base_tree")
        if base and base not in self.repo.trees:
            return 422, {"message": "Invalid tree info", "documentation_url": DOCS}, {}
        files = dict(self.repo.trees[base]) if base else {}
        for entry in body.get("tree", []):
            if entry.get("content") is not None:
                files[entry["path"]] = self.repo.blob(entry["content"].encode())
            elif entry.get("sha") is None:
                files.pop(entry["path"], None)
            else:
                files[entry["path"]] = entry["sha"]
        sha = self.repo.tree(files)
        return 201, self.tree_json(sha), {"location": f"{self.api_repo}/git/trees/{sha}"}

    def create_commit(self, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        if body.get("tree") not in self.repo.trees or any(p not in self.repo.commits for p in body.get("parents", [])):
            return 422, {"message": "Tree SHA does not exist", "documentation_url": DOCS}, {}
        sha = self.repo.commit(body["message"], body["tree"], body["parents"])
        return 201, self.commit_json(sha), {"location": f"{self.api_repo}/git/commits/{sha}"}

    def get_contents(self, path: str, query: dict[str, str], **_: Any) -> tuple[int, Any, dict[str, str]]:
        ref = query.get("ref", self.branch)
        sha = self.repo.refs.get(f"refs/heads/{ref}")
        blob = self.repo.files_at(sha).get(path) if sha else None
        return self._found(blob is not None, lambda: self.file_json(path, ref, blob))

    def put_contents(self, path: str, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        branch = body.get("branch", self.branch)
        ref = f"refs/heads/{branch}"
        if ref not in self.repo.refs:
            return 404, {"message": f"Branch {branch} not found", "documentation_url": DOCS}, {}
        files = dict(self.repo.files_at(self.repo.refs[ref]))
        existed = path in files
        if existed and body.get("sha") != files[path]:
            return 409, {"message": f"{path} does not match {body.get('sha')}", "documentation_url": DOCS}, {}
        files[path] = self.repo.blob(base64.b64decode(body["content"]))
        self.repo.refs[ref] = self.repo.commit(body["message"], self.repo.tree(files), [self.repo.refs[ref]])
        data = self.shape("contents_put")
        data["content"] = self.file_json(path, branch, files[path])
        data["commit"] = self.commit_json(self.repo.refs[ref])
        return (200 if existed else 201), data, {}

    # -- pulls, labels, comments ------------------------------------------------------------

    def list_pulls(self, query: dict[str, str], **_: Any) -> tuple[int, Any, dict[str, str]]:
        state = query.get("state", "open")
        key = (lambda p: (p.updated_at, p.number)) if query.get("sort") == "updated" else (lambda p: p.number)
        pulls = sorted(self.pulls.values(), key=key, reverse=query.get("direction", "desc") == "desc")
        if state != "all":
            pulls = [p for p in pulls if p.state == state]
        if "head" in query:
            owner, _, head = query["head"].partition(":")
            pulls = [p for p in pulls if owner == self.owner and p.head == head]
        if "base" in query:
            pulls = [p for p in pulls if p.base == query["base"]]
        return self._page([self.pull_json(p) for p in pulls], query, "/pulls")

    def create_pull(self, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        head, base = body.get("head", "").split(":")[-1], body.get("base", "")
        if f"refs/heads/{head}" not in self.repo.refs:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": f"{DOCS}/pulls/pulls#create-a-pull-request",
                    "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                },
                {},
            )
        if any(p.state == "open" for p in self.pulls_for(head)):
            return (
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": f"{DOCS}/pulls/pulls#create-a-pull-request",
                    "errors": [{"resource": "PullRequest", "code": "custom", "message": f"A pull request already exists for {self.owner}:{head}."}],
                },
                {},
            )
        head_sha = self.repo.refs[f"refs/heads/{head}"]
        base_history = set(self.repo.ancestors(self.repo.refs[f"refs/heads/{base}"]))
        merge_base = next(c for c in self.repo.ancestors(head_sha) if c in base_history)
        number = len(self.pulls) + 1
        self.pulls[number] = Pull(
            number, body.get("title", ""), body.get("body") or "", head, base, head_sha, merge_base, self.clock.time(), self.clock.time()
        )
        return 201, self.pull_json(self.pulls[number]), {"location": f"{self.api_repo}/pulls/{number}"}

    def update_pull(self, n: str, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        pull = self.pulls.get(int(n))
        if pull is None:
            return 404, None, {}
        pull.title, pull.body = body.get("title", pull.title), body.get("body", pull.body)
        pull.updated_at = self.clock.time()
        if body.get("state") == "closed" and pull.state == "open":
            pull.state, pull.closed_at = "closed", self.clock.time()
        return 200, self.pull_json(pull), {}

    def _merge(self, pull: Pull) -> str:
        base_ref = f"refs/heads/{pull.base}"
        before, after = self.repo.files_at(pull.merge_base), self.repo.files_at(pull.head_sha)
        files = dict(self.repo.files_at(self.repo.refs[base_ref]))
        for path in set(before) | set(after):
            if after.get(path) is None:
                files.pop(path, None)
            elif before.get(path) != after[path]:
                files[path] = after[path]
        sha = self.repo.commit(
            f"Merge pull request #{pull.number} from {self.owner}/{pull.head}", self.repo.tree(files), [self.repo.refs[base_ref], pull.head_sha]
        )
        self.repo.refs[base_ref] = sha
        now = self.clock.time()
        pull.state, pull.merged_at, pull.closed_at, pull.merge_commit_sha = "closed", now, now, sha
        pull.updated_at = now
        return sha

    def merge_pull(self, n: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        pull = self.pulls.get(int(n))
        if pull is None:
            return 404, None, {}
        if pull.state != "open":
            return 405, {"message": "Pull Request is not mergeable", "documentation_url": DOCS}, {}
        return 200, {"sha": self._merge(pull), "merged": True, "message": "Pull Request successfully merged"}, {}

    def pull_files(self, n: str, query: dict[str, str], **_: Any) -> tuple[int, Any, dict[str, str]]:
        pull = self.pulls.get(int(n))
        if pull is None:
            return 404, None, {}
        before, after = self.repo.files_at(pull.merge_base), self.repo.files_at(pull.head_sha)
        out = []
        for path in sorted(set(before) | set(after)):
            if before.get(path) == after.get(path):
                continue
            status = "added" if path not in before else "removed" if path not in after else "modified"
            sha = after.get(path) or before[path]
            lines = self.repo.blobs[sha].decode().count("\n") + 1
            out.append(
                {
                    "sha": sha,
                    "filename": path,
                    "status": status,
                    "additions": lines if status != "removed" else 0,
                    "deletions": lines if status == "removed" else 0,
                    "changes": lines,
                    "blob_url": f"{self.web_repo}/blob/{pull.head_sha}/{path}",
                    "raw_url": f"{self.web_repo}/raw/{pull.head_sha}/{path}",
                    "contents_url": f"{self.api_repo}/contents/{quote(path)}?ref={pull.head_sha}",
                    "patch": "",
                }
            )
        return self._page(out, query, f"/pulls/{n}/files")

    def create_label(self, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        name = body.get("name", "")
        if name in self.labels:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": f"{DOCS}/issues/labels#create-a-label",
                    "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
                },
                {},
            )
        label = self.shape("label")
        label.update(
            id=len(self.labels) + 1,
            node_id=f"LA_{len(self.labels) + 1}",
            name=name,
            url=f"{self.api_repo}/labels/{quote(name)}",
            color=body.get("color", "ededed"),
            description=body.get("description"),
            default=False,
        )
        self.labels[name] = label
        return 201, label, {"location": label["url"]}

    def add_labels(self, n: str, body: Any, **_: Any) -> tuple[int, Any, dict[str, str]]:
        pull = self.pulls.get(int(n))
        if pull is None:
            return 404, None, {}
        names = body if isinstance(body, list) else body.get("labels", [])
        for name in names:
            if name not in self.labels:  # GitHub creates unknown labels on the fly
                self.create_label({"name": name})
            if name not in pull.labels:
                pull.labels.append(name)
        pull.updated_at = self.clock.time()
        return 200, [self.labels[x] for x in pull.labels], {}

    def issue_labels(self, n: str, query: dict[str, str], **_: Any) -> tuple[int, Any, dict[str, str]]:
        pull = self.pulls.get(int(n))
        if pull is None:
            return 404, None, {}
        return self._page([self.labels[x] for x in pull.labels], query, f"/issues/{n}/labels")

    def remove_label(self, n: str, name: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        """DELETE /issues/{n}/labels/{name}: 200 with the labels left, or 404 "Label does not exist"."""
        pull = self.pulls.get(int(n))
        if pull is None:
            return 404, None, {}
        if name not in pull.labels:
            return 404, {"message": "Label does not exist", "documentation_url": f"{DOCS}/issues/labels#remove-a-label-from-an-issue"}, {}
        pull.labels.remove(name)
        pull.updated_at = self.clock.time()
        return 200, [self.labels[x] for x in pull.labels], {}

    def comment(self, number: int, body: str, user_type: str = "User") -> dict[str, Any]:
        """Someone (an editor, or a bot with user_type "Bot") comments on a pull request."""
        with self.lock:
            status, data, _ = self.create_comment(str(number), {"body": body})
            assert status == 201, status
            data["user"]["type"] = user_type
            return data

    def list_comments(self, n: str, query: dict[str, str], **_: Any) -> tuple[int, Any, dict[str, str]]:
        if int(n) not in self.pulls:
            return 404, None, {}
        return self._page([c for c in self.comments if c["issue"] == int(n)], query, f"/issues/{n}/comments")

    def create_comment(self, n: str, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        if int(n) not in self.pulls:
            return 404, None, {}
        data = self.shape("comment")
        now = _iso(self.clock.time())
        data.update(
            id=955722176 + len(self.comments),
            body=body.get("body", ""),
            issue=int(n),
            issue_url=f"{self.api_repo}/issues/{n}",
            created_at=now,
            updated_at=now,
        )
        data["url"] = f"{self.api_repo}/issues/comments/{data['id']}"
        data["html_url"] = f"{self.web_repo}/pull/{n}#issuecomment-{data['id']}"
        self.comments.append(data)
        return 201, data, {"location": data["url"]}

    def edit_comment(self, cid: str, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        found = next((c for c in self.comments if c["id"] == int(cid)), None)
        if found is None:
            return 404, None, {}
        found["body"], found["updated_at"] = body["body"], _iso(self.clock.time())
        return 200, found, {}

    # -- one request -------------------------------------------------------------------

    def authorised(self, header: str, path: str) -> bool:
        """An installation token or user token; a GitHub App's JWT only to mint installation tokens."""
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "token" and not path.startswith("/app/"):
            return credential in self.tokens
        if scheme.lower() == "bearer" and credential.count(".") == 2 and path.startswith("/app/"):
            if self.app_public_key is None:
                return True
            import jwt

            try:
                jwt.decode(credential, self.app_public_key, algorithms=["RS256"])
            except jwt.PyJWTError:
                return False
            return True
        return False


def _creating(method: str, path: str) -> bool:
    return method in ("POST", "PUT", "PATCH", "DELETE") and not path.startswith("/app/")


def _handler(server: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.handle_api("GET")

        def do_POST(self) -> None:
            self.handle_api("POST")

        def do_PUT(self) -> None:
            self.handle_api("PUT")

        def do_PATCH(self) -> None:
            self.handle_api("PATCH")

        def do_DELETE(self) -> None:
            self.handle_api("DELETE")

        def handle_api(self, method: str) -> None:
            split = urlsplit(self.path)
            path = split.path.removeprefix("/api/v3")
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            with server.lock:
                now = server.clock.time()
                creating = _creating(method, path)
                fault = server.take_fault(method, path)
                headers = server.rate_headers()
                record = Record(now, method, path, 0, creating, fault.kind if fault else None)
                server.requests.append(record)
                server.used += 1
                if not server.authorised(self.headers.get("authorization", ""), path):
                    status, data, extra = 401, {"message": "Bad credentials", "documentation_url": DOCS}, {}
                elif fault and fault.kind in ("reset", "reset-after-write", "timeout-after-write"):
                    if fault.kind != "reset":
                        server.route(method, path, query, body)
                    record.status = 0
                    return self.drop(fault)
                elif fault:
                    status, data, extra = self.fault_response(fault, now)
                elif int(headers["x-ratelimit-remaining"]) <= 0:
                    status, data, extra = (
                        403,
                        {
                            "message": "API rate limit exceeded for installation.",
                            "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                        },
                        {},
                    )
                elif creating and server.over_secondary(now):
                    server.violations.append(record)
                    status, data, extra = 403, {"message": SECONDARY_MESSAGE, "documentation_url": DOCS}, {"retry-after": "60"}
                else:
                    status, data, extra = server.route(method, path, query, body)
                    if status == 404 and data is None:
                        data = {"message": "Not Found", "documentation_url": DOCS}
                headers = server.rate_headers()
                headers.update(extra)
                record.status = status
            self.send(status, data, headers)

        def fault_response(self, fault: Fault, now: float) -> tuple[int, Any, dict[str, str]]:
            if fault.kind == "502":
                return 502, {"message": "Server Error"}, {}
            if fault.kind == "404":
                return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
            if fault.kind == "primary":
                return (
                    403,
                    {"message": "API rate limit exceeded for installation.", "documentation_url": DOCS},
                    {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now + (fault.retry_after or 60)))},
                )
            extra = {"retry-after": str(fault.retry_after)} if fault.retry_after and fault.kind != "secondary-no-retry-after" else {}
            status = 429 if fault.kind == "429" else 403
            return status, {"message": SECONDARY_MESSAGE, "documentation_url": DOCS}, extra

        def drop(self, fault: Fault) -> None:
            if fault.kind == "timeout-after-write":
                time.sleep(fault.hold)  # real time: longer than the client's read timeout
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def send(self, status: int, data: Any, headers: dict[str, str]) -> None:
            payload = b"" if data is None or status == 204 else json.dumps(data).encode()
            self.send_response(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "")
            if payload:
                self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(payload)))
            self.send_header("x-github-media-type", "github.v3; param=full; format=json")
            for key, value in headers.items():
                self.send_header(key, value)
            try:
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client stopped waiting (its timeout): the request stands, as on GitHub
                self.close_connection = True

    return Handler
