"""The local git forge: one branch `submissions/<reference>` per submission in the site's own repository.

Everything is done with git plumbing (`hash-object`, a private index file,
`commit-tree`, `update-ref`), so the editor's working tree, index and
checked-out branch are never touched when a proposal is made. Accepting
merges the branch into the main branch; rejecting deletes it and keeps the
public reason in a small ref of its own (`refs/consult/rejected/<reference>`).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from generator.clock import wall_time
from generator.errors import ConsultError

from .base import Forge, Proposal, ProposalState

BRANCH_PREFIX = "refs/heads/submissions/"
MERGED_PREFIX = "refs/consult/merged/"
REJECTED_PREFIX = "refs/consult/rejected/"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Talk Health and Care intake",
    "GIT_AUTHOR_EMAIL": "intake@localhost",
    "GIT_COMMITTER_NAME": "Talk Health and Care intake",
    "GIT_COMMITTER_EMAIL": "intake@localhost",
}


class ForgeError(ConsultError):
    """A git command failed; the message says which and why."""


@dataclass(frozen=True)
class OpenBranch:
    """A submission's branch not yet merged, read in one git call."""

    reference: str
    tip: str
    paths: tuple[str, ...]
    """Files the branch adds or changes (after any moves), in the order it first touched them."""
    proposed_at: dt.datetime
    """When its first commit (the intake's proposal) was made."""


class LocalGitForge(Forge):
    """Proposals as branches of a local git repository."""

    def __init__(self, root: Path, main_branch: str = "main", message: Callable[[Proposal], str] | None = None):
        self.root = Path(root)
        self.main_branch = main_branch
        from ..proposals import commit_message

        self.message = message or commit_message

    # -- plumbing ---------------------------------------------------------------------------

    def git(self, *args: str, input: str | None = None, env: dict[str, str] | None = None, check: bool = True) -> str:
        result = subprocess.run(
            ["git", "-C", str(self.root), *args],
            input=input,
            capture_output=True,
            encoding="utf-8",
            env={**os.environ, **IDENTITY, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
            check=False,
        )
        if check and result.returncode != 0:
            raise ForgeError(f"git {args[0]} failed in {self.root}: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout.strip()

    def resolve(self, ref: str) -> str | None:
        out = self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return out or None

    def _main_ref(self) -> str:
        ref = f"refs/heads/{self.main_branch}"
        if self.resolve(ref) is None:
            raise ForgeError(
                f"the repository {self.root} has no branch '{self.main_branch}' (set CONSULT_MAIN_BRANCH or site.yml github.base_branch)"
            )
        return ref

    # -- the Forge interface ----------------------------------------------------------------

    def _refs(self, reference: str) -> dict[str, str]:
        """The refs that tell a proposal's state, and the main branch, in one git call: name → commit."""
        names = [BRANCH_PREFIX + reference, MERGED_PREFIX + reference, REJECTED_PREFIX + reference, f"refs/heads/{self.main_branch}"]
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", *names)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def propose(self, proposal: Proposal) -> str:
        """Make the branch with one commit adding the file; if it already exists (or was decided), return it unchanged."""
        return self.propose_many([proposal])[proposal.reference]

    def propose_many(self, proposals: list[Proposal], on_proposed: Callable[[dict[str, str]], object] | None = None) -> dict[str, str]:
        """Propose several at once: one `git fast-import` writes every blob, tree, commit and new branch.

        Proposals whose branch exists (or that editors already decided) are left as they are.
        fast-import never moves an existing branch, so a second worker racing on the same
        reference cannot make a second commit; after a failure each one is checked again.
        """
        refs = self._all_refs()
        base = refs.get(f"refs/heads/{self.main_branch}")
        if base is None:
            raise ForgeError(
                f"the repository {self.root} has no branch '{self.main_branch}' (set CONSULT_MAIN_BRANCH or site.yml github.base_branch)"
            )
        todo = [p for p in proposals if not any(prefix + p.reference in refs for prefix in (BRANCH_PREFIX, MERGED_PREFIX, REJECTED_PREFIX))]
        if todo:
            result = subprocess.run(
                ["git", "-C", str(self.root), "-c", "fastimport.unpackLimit=0", "fast-import", "--quiet", "--date-format=now"],
                input=b"".join(self._import_stream(p, base) for p in todo),
                capture_output=True,
                env={**os.environ, **IDENTITY},
                check=False,
            )
            if result.returncode != 0:
                refs = self._all_refs()
                missing = [p.reference for p in todo if BRANCH_PREFIX + p.reference not in refs]
                if missing:
                    raise ForgeError(f"could not create branches for {', '.join(missing)}: {result.stderr.decode(errors='replace').strip()}")
        done = {p.reference: p.branch for p in proposals}
        if on_proposed is not None:
            on_proposed(done)
        return done

    def _all_refs(self) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/", "refs/consult/")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def _import_stream(self, proposal: Proposal, base: str) -> bytes:
        message = self.message(proposal).encode()
        content = proposal.content.encode()
        who = f"{IDENTITY['GIT_COMMITTER_NAME']} <{IDENTITY['GIT_COMMITTER_EMAIL']}> now"
        return b"".join(
            [
                f"commit refs/heads/{proposal.branch}\ncommitter {who}\n".encode(),
                f"data {len(message)}\n".encode(),
                message,
                b"\n",
                f"from {base}\n".encode(),
                f"M 100644 inline {proposal.path}\n".encode(),
                f"data {len(content)}\n".encode(),
                content,
                b"\n",
            ]
        )

    def state(self, reference: str) -> ProposalState:
        refs = self._refs(reference)
        tip = refs.get(BRANCH_PREFIX + reference)
        if tip is not None:
            main = refs.get(f"refs/heads/{self.main_branch}", "")
            merged = (
                subprocess.run(["git", "-C", str(self.root), "merge-base", "--is-ancestor", tip, main], capture_output=True, check=False).returncode
                == 0
            )
            return ProposalState.MERGED if merged else ProposalState.OPEN
        if MERGED_PREFIX + reference in refs:
            return ProposalState.MERGED
        if REJECTED_PREFIX + reference in refs:
            return ProposalState.CLOSED
        return ProposalState.MISSING

    # -- editors' side (consult review) ----------------------------------------------------

    def open_branches(self) -> list[OpenBranch]:
        """Every open submission branch with its files and age, oldest first: one git call per branch, not one per question."""
        main_ref = self._main_ref()
        out = self.git("for-each-ref", f"--no-merged={main_ref}", "--format=%(refname) %(objectname)", BRANCH_PREFIX.rstrip("/"))
        branches = []
        for line in filter(None, out.splitlines()):
            ref, tip = line.split(" ", 1)
            log = self.git("log", "--reverse", "--no-renames", "--format=%x00%cI", "--name-status", f"{main_ref}..{tip}")
            commits = [chunk.strip().splitlines() for chunk in log.split("\0") if chunk.strip()]
            paths: dict[str, None] = {}
            for change in (row.split("\t", 1) for lines in commits for row in lines[1:] if "\t" in row):
                if change[0] == "D":
                    paths.pop(change[1], None)
                else:
                    paths.setdefault(change[1])
            when = dt.datetime.fromisoformat(commits[0][0]) if commits else wall_time()
            branches.append(OpenBranch(ref.removeprefix(BRANCH_PREFIX), tip, tuple(paths), when))
        return sorted(branches, key=lambda b: b.proposed_at)

    def blobs(self, specs: list[str]) -> list[str | None]:
        """The text of each `commit:path` in one `git cat-file --batch` (None where there is no such file)."""
        if not specs:
            return []
        result = subprocess.run(
            ["git", "-C", str(self.root), "cat-file", "--batch"], input="\n".join(specs).encode() + b"\n", capture_output=True, check=False
        )
        if result.returncode != 0:
            raise ForgeError(f"git cat-file failed in {self.root}: {result.stderr.decode(errors='replace').strip()}")
        out, at = result.stdout, 0
        texts: list[str | None] = []
        for _spec in specs:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            if len(header) != 3 or header[1] != b"blob":
                texts.append(None)
                at = end + 1
                continue
            size = int(header[2])
            texts.append(out[end + 1 : end + 1 + size].decode("utf-8", errors="replace"))
            at = end + 1 + size + 1
        return texts

    def proposed_files(self, reference: str) -> list[str]:
        """The files the open branch adds or changes, compared with where it left the main branch."""
        tip = self._require_open(reference)
        return self.git("diff", "--name-only", "--no-renames", f"{self._main_ref()}...{tip}").splitlines()

    def read_file(self, reference: str, path: str) -> str:
        """A file as the open branch has it (byte for byte: git() would strip its last newline)."""
        spec = f"{self._require_open(reference)}:{path}"
        result = subprocess.run(["git", "-C", str(self.root), "cat-file", "blob", spec], capture_output=True, check=False)
        if result.returncode != 0:
            raise ForgeError(f"git cat-file failed for {path} on submissions/{reference}: {result.stderr.decode(errors='replace').strip()}")
        return result.stdout.decode("utf-8")

    def diff(self, reference: str) -> str:
        """Everything the branch would change on the main branch, as one diff."""
        return self.git("diff", "--no-color", f"{self._main_ref()}...{self._require_open(reference)}")

    def history(self, reference: str) -> str:
        """The branch's commits, oldest first: the intake's proposal (with the flags at arrival), then any edits."""
        tip = self._require_open(reference)
        return self.git("log", "--reverse", "--no-color", "--format=commit %h  %cd  %an%n%n%B", f"{self._main_ref()}..{tip}")

    def commit_edit(self, reference: str, old_path: str, new_path: str, content: str, message: str) -> str:
        """Commit an editor's version of the proposed file on its branch (moved when the path changed); return the commit.

        Plumbing with a private index, so no working tree or checkout is touched; the
        branch moves only if nobody else moved it meanwhile.
        """
        tip = self._require_open(reference)
        blob = self.git("hash-object", "-w", "--stdin", input=content)
        with tempfile.TemporaryDirectory() as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.git("read-tree", tip, env=index)
            if old_path != new_path:
                self.git("update-index", "--force-remove", old_path, env=index)
            self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{new_path}", env=index)
            tree = self.git("write-tree", env=index)
        commit = self.git("commit-tree", tree, "-p", tip, "-m", message, env=self._editor_identity())
        self.git("update-ref", "-m", f"consult: edit {reference}", BRANCH_PREFIX + reference, commit, tip)
        return commit

    def _editor_identity(self) -> dict[str, str]:
        """The editor's own git name and email when configured, so the history says who edited; else the intake's."""
        name = self.git("config", "user.name", check=False)
        email = self.git("config", "user.email", check=False)
        if not (name and email):
            return {}
        return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}

    def _require_open(self, reference: str) -> str:
        state = self.state(reference)
        if state != ProposalState.OPEN:
            hint = {
                ProposalState.MERGED: "it has already been accepted",
                ProposalState.CLOSED: "it has been rejected",
                ProposalState.MISSING: "no branch submissions/" + reference + " exists; run `consult review list`",
            }
            raise ForgeError(f"{reference} is not waiting for review: {hint.get(state, state.value)}")
        tip = self.resolve(BRANCH_PREFIX + reference)
        assert tip is not None
        return tip

    def _checked_out_at(self, branch_ref: str) -> Path | None:
        out = self.git("worktree", "list", "--porcelain")
        path = None
        for line in out.split("\n"):
            if line.startswith("worktree "):
                path = Path(line.removeprefix("worktree "))
            elif line == f"branch {branch_ref}" and path is not None:
                return path
        return None

    def accept(self, reference: str) -> str:
        """Merge the branch into the main branch; return the merge commit."""
        tip = self._require_open(reference)
        main_ref = self._main_ref()
        message = f"Accept {reference}: merge branch 'submissions/{reference}'"
        worktree = self._checked_out_at(main_ref)
        if worktree is not None:
            # The main branch is checked out: merge there so its files (which `consult serve` builds) follow.
            subprocess.run(
                ["git", "-C", str(worktree), "merge", "--no-ff", "--no-edit", "-m", message, tip],
                capture_output=True,
                text=True,
                env={**os.environ, **IDENTITY},
                check=False,
            )
            if self.state(reference) != ProposalState.MERGED:
                self.git("-C", str(worktree), "merge", "--abort", check=False)
                raise ForgeError(
                    f"could not merge submissions/{reference} into {self.main_branch} in {worktree}: commit or stash local changes to the same file, then try again"
                )
        else:
            main = self.resolve(main_ref)
            tree = self.git("merge-tree", "--write-tree", main or "", tip, check=False).split("\n")[0]
            if not tree or len(tree) != 40:
                raise ForgeError(f"submissions/{reference} does not merge cleanly into {self.main_branch}")
            commit = self.git("commit-tree", tree, "-p", main or "", "-p", tip, "-m", message)
            self.git("update-ref", "-m", f"consult: accept {reference}", main_ref, commit, main or "")
        self.git("update-ref", MERGED_PREFIX + reference, tip)
        self.git("update-ref", "-d", BRANCH_PREFIX + reference, tip)
        merged = self.resolve(main_ref)
        assert merged is not None
        return merged

    def reject(self, reference: str, reason: str) -> None:
        """Delete the branch and keep the public reason."""
        tip = self._require_open(reference)
        blob = self.git("hash-object", "-w", "--stdin", input=reason.strip() + "\n")
        self.git("update-ref", REJECTED_PREFIX + reference, blob)
        self.git("update-ref", "-d", BRANCH_PREFIX + reference, tip)

    def public_reason(self, reference: str) -> str | None:
        if not self.git("rev-parse", "--verify", "--quiet", REJECTED_PREFIX + reference, check=False):
            return None
        return self.git("cat-file", "blob", REJECTED_PREFIX + reference)
