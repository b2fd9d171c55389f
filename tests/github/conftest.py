"""Fixtures for the GitHub forge: a fake clock, the fake GitHub server on 127.0.0.1, a forge pointed at it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from github_server import FakeGitHub

from intake.forge.base import Flag, Proposal
from intake.forge.clock import FakeClock
from intake.forge.github import GitHubForge, GitHubOptions

CHALLENGES = ("free-from-bullying", "feeling-empowered", "training-and-development")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def github(clock: FakeClock) -> Iterator[FakeGitHub]:
    with FakeGitHub(clock, files={"README.md": "# Site\n", "challenges/free-from-bullying.md": "---\n---\n"}) as server:
        yield server


@pytest.fixture
def options(github: FakeGitHub) -> GitHubOptions:
    return GitHubOptions(repository=f"{github.owner}/{github.name}", url=github.url, site_url="https://talk.example.nhs.uk", timeout=(2.0, 0.3))


@pytest.fixture
def forge(options: GitHubOptions, clock: FakeClock) -> GitHubForge:
    return GitHubForge(options, clock, env={"GITHUB_TOKEN": "test-token"})


def proposal(n: int, challenge: str = CHALLENGES[0], flags: tuple[Flag, ...] = ()) -> Proposal:
    """A small idea proposal numbered n (reference TH-00000n)."""
    ref = f"TH-{n:06d}"
    return Proposal(
        reference=ref,
        kind="idea",
        path=f"content/ideas/{challenge}/idea-{n}.md",
        content=f"---\ntitle: Idea {n}\nreference: {ref}\n---\nBetter rotas, take {n}.\n",
        title=f"Idea: Better rotas {n}",
        challenge=challenge,
        summary_rows=(("Challenge", challenge), ("Title", f"Better rotas {n}"), ("Role", "Nurse"), ("Region", "London"), ("Credit", "anonymous")),
        flags=flags,
    )


@pytest.fixture
def make_proposal() -> Callable[..., Proposal]:
    return proposal


@pytest.fixture
def github_site(tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample site with `forge: github` pointing at the fake server; a token in the environment."""
    import yaml

    from tests.intake.conftest import make_repo

    repo = make_repo(tmp_path / "repo")
    config = yaml.safe_load((repo / "site.yml").read_text(encoding="utf-8"))
    config["forge"] = "github"
    config["github"] = {"repository": f"{github.owner}/{github.name}", "base_branch": "main", "url": github.url}
    (repo / "site.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    return repo
