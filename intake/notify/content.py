"""What the base branch says now about published ideas: their status, response and "you said, we did" updates.

The base branch is read through the forge, so it works the same with both:
the local forge reads the repository's `main` with git plumbing (never the
editor's working tree), the GitHub forge reads the branch through the API
(one request when nothing changed: the branch's head; then the tree, and
only the files whose blob changed since the last look).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from generator import frontmatter
from generator.schema import DEPRECATED_IDEA_STATUSES

from ..forge.base import Forge

if TYPE_CHECKING:
    from ..forge.github import GitHubForge
    from ..forge.local import LocalGitForge

IDEAS = "content/ideas/"
UPDATES = "content/updates/"


@dataclass(frozen=True)
class IdeaNow:
    """One published idea as the base branch has it."""

    reference: str
    slug: str
    status: str
    response_date: str | None
    """The date of its response (a new date is a new answer), None without one."""


@dataclass(frozen=True)
class UpdateNow:
    """A "you said, we did" update and the ideas it answers."""

    slug: str
    title: str
    ideas: tuple[str, ...]


class BaseBranch(Protocol):
    reads_everything: bool
    """True when reading every idea file is cheap (local git); else only the files asked for are read."""

    def head(self) -> str:
        """The base branch's commit now."""
        ...

    def listing(self, commit: str) -> dict[str, str]:
        """path → blob id of every file under content/ideas/ and content/updates/ at that commit."""
        ...

    def read(self, commit: str, paths: list[str]) -> dict[str, str]:
        """The text of each file at that commit (files missing are left out)."""
        ...


class LocalBaseBranch:
    """The local forge's main branch, read with `git ls-tree` and one `git cat-file --batch`."""

    reads_everything = True

    def __init__(self, forge: LocalGitForge) -> None:
        self.forge = forge

    def head(self) -> str:
        return str(self.forge.git("rev-parse", "--verify", f"refs/heads/{self.forge.main_branch}^{{commit}}"))

    def listing(self, commit: str) -> dict[str, str]:
        out = self.forge.git("ls-tree", "-r", "-z", commit, "--", IDEAS.rstrip("/"), UPDATES.rstrip("/"))
        found = {}
        for entry in filter(None, out.split("\0")):
            meta, _, path = entry.partition("\t")
            found[path] = meta.split()[2]
        return found

    def read(self, commit: str, paths: list[str]) -> dict[str, str]:
        texts = self.forge.blobs([f"{commit}:{path}" for path in paths])
        return {path: text for path, text in zip(paths, texts) if text is not None}


class GitHubBaseBranch:
    """The GitHub forge's base branch through the API (github3.py's public calls, within the forge's budget)."""

    reads_everything = False

    def __init__(self, forge: GitHubForge) -> None:
        self.forge = forge

    def head(self) -> str:
        return str(self.forge.repo.ref(f"heads/{self.forge.options.base_branch}").object.sha)

    def listing(self, commit: str) -> dict[str, str]:
        tree = self.forge.repo.git_commit(commit).tree.sha
        entries = self.forge.repo.tree(tree, recursive=True).tree
        return {e.path: e.sha for e in entries if e.type == "blob" and e.path.startswith((IDEAS, UPDATES))}

    def read(self, commit: str, paths: list[str]) -> dict[str, str]:
        texts = {}
        for path in paths:
            contents = self.forge.repo.file_contents(path, ref=self.forge.options.base_branch)
            if contents is not None:
                texts[path] = contents.decoded.decode("utf-8")
        return texts


def base_branch_for(forge: Forge) -> BaseBranch | None:
    """How to read the base branch of this forge; None for a forge that cannot say (then only decisions are emailed)."""
    from ..forge.github import GitHubForge
    from ..forge.local import LocalGitForge

    if isinstance(forge, LocalGitForge):
        return LocalBaseBranch(forge)
    return GitHubBaseBranch(forge) if isinstance(forge, GitHubForge) else None


def parse_idea(path: str, text: str) -> IdeaNow | None:
    """An idea file's reference, status and response date; None when it cannot be read."""
    try:
        data = frontmatter.parse(text).data
    except (frontmatter.FrontMatterError, ValueError):
        return None
    reference = data.get("reference")
    if not isinstance(reference, str):
        return None
    status = str(data.get("status") or "waiting").strip()
    status = DEPRECATED_IDEA_STATUSES[status].value if status in DEPRECATED_IDEA_STATUSES else status
    response = data.get("response")
    date = str(response.get("date")) if isinstance(response, dict) and response.get("date") else None
    return IdeaNow(reference, path.rsplit("/", 1)[-1].removesuffix(".md"), status, date)


def parse_update(path: str, text: str) -> UpdateNow | None:
    try:
        data = frontmatter.parse(text).data
    except (frontmatter.FrontMatterError, ValueError):
        return None
    ideas = data.get("ideas") or []
    if not isinstance(ideas, list):
        return None
    return UpdateNow(path.rsplit("/", 1)[-1].removesuffix(".md"), str(data.get("title") or ""), tuple(str(s) for s in ideas))


@dataclass
class Snapshot:
    """The ideas (by reference) and updates of the base branch at one commit."""

    commit: str
    ideas: dict[str, IdeaNow]
    updates: list[UpdateNow]


class BranchReader:
    """Reads the base branch, keeping what it parsed by blob id so an unchanged file is never read twice."""

    def __init__(self, branch: BaseBranch) -> None:
        self.branch = branch
        self._parsed: dict[tuple[str, str], IdeaNow | UpdateNow | None] = {}
        self._last: tuple[set[str], Snapshot] | None = None

    def look(self, wanted: set[str]) -> Snapshot:
        """The base branch now. `wanted`: paths of the ideas to follow (the proposal's path); an idea moved
        to another challenge's folder is found by its file name. Local git reads every idea file."""
        commit = self.branch.head()
        if self._last is not None and self._last[1].commit == commit and wanted <= self._last[0]:
            return self._last[1]  # nothing merged since the last look
        listing = self.branch.listing(commit)
        names = {path.rsplit("/", 1)[-1] for path in wanted}
        relevant = [
            path for path in listing if path.startswith(UPDATES) or self.branch.reads_everything or path in wanted or path.rsplit("/", 1)[-1] in names
        ]
        todo = [path for path in relevant if (path, listing[path]) not in self._parsed]
        for path, text in self.branch.read(commit, todo).items():
            parse = parse_update if path.startswith(UPDATES) else parse_idea
            self._parsed[(path, listing[path])] = parse(path, text)
        ideas: dict[str, IdeaNow] = {}
        updates: list[UpdateNow] = []
        for path in sorted(relevant):
            item = self._parsed.get((path, listing[path]))
            if isinstance(item, IdeaNow):
                ideas.setdefault(item.reference, item)
            elif isinstance(item, UpdateNow):
                updates.append(item)
        self._parsed = {key: item for key, item in self._parsed.items() if listing.get(key[0]) == key[1]}
        snapshot = Snapshot(commit, ideas, updates)
        self._last = (set(wanted), snapshot)
        return snapshot
