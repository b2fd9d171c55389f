"""`consult moderate --pr N` against the GitHub test server: one comment, edited not re-posted; labels; annotations."""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.errors import Problem
from intake.forge.clock import SystemClock
from intake.forge.github_body import CHECKLIST
from intake.moderate import MARKER, annotation, ticked

from .conftest import copy_sample
from .github_server import FakeGitHub, Pull

IDEA = "content/ideas/feeling-empowered/let-us-swap-shifts-in-an-app.md"
COMMENT = "content/comments/hot-food-for-staff-working-nights/TH-ZZZZ8.md"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def write(root: Path, path: str, text: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(textwrap.dedent(text).lstrip())


@pytest.fixture
def pr_repo(tmp_path: Path) -> Path:
    """The sample site on `main`, and a submission branch adding a flagged idea and a broken comment."""
    root = copy_sample(tmp_path / "repo")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "submissions/TH-ZZZZ9")
    write(
        root,
        IDEA,
        """
        ---
        title: "LET US SWAP SHIFTS IN AN APP"
        challenge: feeling-empowered
        submitted: 2026-11-20
        reference: TH-ZZZZ9
        ---

        Swapping a shift today means ringing round for hours. Call me on 07700 900123 or write to jo.bloggs@example.org and I will explain how our old trust did it with a simple app.
        """,
    )
    write(
        root,
        COMMENT,
        """
        ---
        target: "idea:hot-food-for-staff-working-nights"
        submitted: last tuesday
        reference: TH-ZZZZ8
        ---

        Yes please, the vending machine is all we have after 10pm.
        """,
    )
    commit(root, "Add submissions")
    return root


def commit(root: Path, message: str) -> None:
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", message)


@pytest.fixture
def github() -> Any:
    with FakeGitHub(SystemClock()) as server:
        server.create_label({"name": "possible-duplicate"})
        server.create_label({"name": "submission"})
        sha = server.repo.refs["refs/heads/main"]
        server.pulls[7] = Pull(
            7,
            "Idea: Let us swap shifts",
            "",
            "submissions/TH-ZZZZ9",
            "main",
            sha,
            sha,
            server.clock.time(),
            labels=["submission", "possible-duplicate"],
        )
        yield server


def moderate(root: Path, server: FakeGitHub, *extra: str) -> Any:
    args = [
        "--root",
        str(root),
        "moderate",
        "--pr",
        "7",
        "--base",
        "main",
        "--repo",
        "nhs/consult-site",
        "--github-url",
        server.url,
        "--run-url",
        "https://example.invalid/run/1",
        *extra,
    ]
    return CliRunner().invoke(main, args, env={"GITHUB_TOKEN": "test-token", "GITHUB_REPOSITORY": None})


def test_comment_is_created_once_then_edited_and_labels_follow_the_flags(pr_repo: Path, github: FakeGitHub) -> None:
    first = moderate(pr_repo, github)
    assert first.exit_code == 1, first.output
    assert f"::error file={COMMENT},line=3,title=submitted::" in first.output
    assert len(github.comments) == 1
    body = github.comments[0]["body"]
    assert MARKER in body and "❌ failed (1 problem)" in body
    assert "possible-personal-data" in body and "all-capitals" in body and "07700 900123" not in body
    assert "- [ ] Tags set" in body and "Download `site-preview`" in body
    labels = set(github.pulls[7].labels)
    assert {"possible-personal-data", "all-capitals", "submission"} <= labels
    assert "possible-duplicate" not in labels, "a flag label that no longer applies is removed"
    assert github.labels["possible-personal-data"]["color"] == "d5281b"

    # An editor ticks a box and fixes the comment's date; the bot runs again on the new commit.
    github.comments[0]["body"] = body.replace("- [ ] Tags set", "- [x] Tags set")
    write(pr_repo, COMMENT, (pr_repo / COMMENT).read_text().replace("last tuesday", "2026-11-21"))
    commit(pr_repo, "Fix the date")
    second = moderate(pr_repo, github, "--build-result", "success")
    assert second.exit_code == 0, second.output
    assert len(github.comments) == 1, "the comment is edited, never re-posted"
    edited = github.comments[0]["body"]
    assert "✅ passed" in edited and "Problems to fix" not in edited
    assert "- [x] Tags set" in edited, "boxes an editor ticked stay ticked"
    posts = [r for r in github.requests if r.method == "POST" and r.path.endswith("/issues/7/comments")]
    patches = [r for r in github.requests if r.method == "PATCH" and "/issues/comments/" in r.path]
    assert len(posts) == 1 and len(patches) == 1

    moderate(pr_repo, github, "--build-result", "success")
    assert len([r for r in github.requests if r.method == "PATCH"]) == 1, "an unchanged comment is not edited again"


def test_moderate_waits_out_a_secondary_limit_as_the_forge_does(pr_repo: Path, github: FakeGitHub) -> None:
    """Its requests go through the forge's Governor: a 403 with Retry-After is waited out, then the comment posted once."""
    github.inject("POST", r"/issues/7/comments$", "secondary", retry_after=1)
    result = moderate(pr_repo, github)
    assert result.exit_code == 1, result.output
    posts = [(r.status, r.fault) for r in github.requests if r.method == "POST" and r.path.endswith("/issues/7/comments")]
    assert posts == [(403, "secondary"), (201, None)]
    assert len(github.comments) == 1


def test_a_pull_request_github_does_not_have_is_named(pr_repo: Path, github: FakeGitHub) -> None:
    result = CliRunner().invoke(
        main,
        ["--root", str(pr_repo), "moderate", "--pr", "41", "--base", "main", "--repo", "nhs/consult-site", "--github-url", github.url],
        env={"GITHUB_TOKEN": "test-token"},
    )
    assert result.exit_code == 1
    assert "Error: GitHub has no pull request #41 in nhs/consult-site. Check --pr and --repo" in result.output


def test_the_same_idea_in_another_open_pull_request_is_flagged_as_a_duplicate(pr_repo: Path, github: FakeGitHub) -> None:
    """Compared with the ideas of the other open submission pull requests (their branches, as the checkout holds them)."""
    git(pr_repo, "checkout", "-q", "-b", "submissions/TH-ZZZZ7", "main")
    write(
        pr_repo,
        "content/ideas/feeling-empowered/swap-shifts-in-an-app.md",
        """
        ---
        title: Let us swap shifts in an app
        challenge: feeling-empowered
        submitted: 2026-11-19
        reference: TH-ZZZZ7
        ---

        Swapping a shift today means ringing round for hours. Our old trust did it with a simple app.
        """,
    )
    commit(pr_repo, "Add TH-ZZZZ7")
    copy = (pr_repo / "content/ideas/feeling-empowered/swap-shifts-in-an-app.md").read_text().replace("TH-ZZZZ7", "TH-ZZZZ6")
    git(pr_repo, "checkout", "-q", "-b", "submissions/TH-ZZZZ6", "main")
    write(pr_repo, "content/ideas/feeling-empowered/closed-copy.md", copy)
    commit(pr_repo, "Add TH-ZZZZ6, whose pull request was closed")
    git(pr_repo, "checkout", "-q", "submissions/TH-ZZZZ9")
    sha = github.repo.refs["refs/heads/main"]
    github.pulls[8] = Pull(8, "Idea: Let us swap shifts in an app", "", "submissions/TH-ZZZZ7", "main", sha, sha, github.clock.time())
    github.pulls[9] = Pull(9, "Idea: closed", "", "submissions/TH-ZZZZ6", "main", sha, sha, github.clock.time(), state="closed")

    result = moderate(pr_repo, github)
    assert "Possible duplicate of submissions waiting for review: TH-ZZZZ7" in result.output
    assert "TH-ZZZZ6" not in result.output, "a closed pull request is not waiting"
    body = github.comments[0]["body"]
    assert "**possible-duplicate**: Possible duplicate of submissions waiting for review: TH-ZZZZ7 ‘Let us swap shifts in an app’" in body
    assert "possible-duplicate" in github.pulls[7].labels


def test_check_without_a_token_for_forks(pr_repo: Path) -> None:
    result = CliRunner().invoke(main, ["--root", str(pr_repo), "moderate", "--pr", "7", "--base", "main", "--no-comment"], env={"GITHUB_TOKEN": None})
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("::error ")]
    assert lines == [lines[0]] and lines[0].startswith(f"::error file={COMMENT},line=3,title=submitted::")
    assert f"::warning file={IDEA},title=possible-personal-data::" in result.output


def test_changed_files_from_the_api(pr_repo: Path) -> None:
    files = {p: (pr_repo / p).read_text() for p in ("site.yml",)}
    with FakeGitHub(SystemClock(), files=files) as server:
        base = server.repo.refs["refs/heads/main"]
        head = server.repo.commit(
            "idea", server.repo.tree({**server.repo.files_at(base), IDEA: server.repo.blob((pr_repo / IDEA).read_bytes())}), [base]
        )
        server.pulls[7] = Pull(7, "Idea", "", "submissions/TH-ZZZZ9", "main", head, base, server.clock.time())
        result = CliRunner().invoke(
            main,
            ["--root", str(pr_repo), "moderate", "--pr", "7", "--repo", "nhs/consult-site", "--github-url", server.url, "--no-annotate"],
            env={"GITHUB_TOKEN": "test-token"},
        )
    assert result.exit_code == 0, result.output
    assert f"{IDEA}: possible-personal-data" in result.output
    assert "Comment on" not in server.comments[0]["body"], "only the files the API listed are flagged"


def test_annotation_escapes_what_github_would_misread() -> None:
    problem = Problem("content/a,b.md", 4, "title: x", "50% too long\nsecond line", "shorten it")
    assert annotation(problem) == "::error file=content/a%2Cb.md,line=4,title=title%3A x::50%25 too long%0Asecond line (hint: shorten it)"


def test_ticked_reads_only_ticked_boxes() -> None:
    assert ticked("- [x] Summary written\n- [ ] Tags set\n- [X] Tone ok") == {"Summary written", "Tone ok"}


@pytest.mark.parametrize("page", ["review.md", "review-local.md"])
def test_the_handbook_shows_the_checklist_the_editors_see(page: str) -> None:
    """The handbook's boxes are the checklist of the pull request body and the moderation comment, in order."""
    text = (Path(__file__).parents[1] / "handbook/docs/editors" / page).read_text()
    shown = [re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m) for m in re.findall(r"^- \[ \] \*\*(.+?)\*\*", text, re.MULTILINE)]
    assert len(shown) == len(CHECKLIST) and all(item.startswith(s) for s, item in zip(shown, CHECKLIST)), shown
