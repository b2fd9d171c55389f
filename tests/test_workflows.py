"""CI workflows are least-privilege: no default permissions, actions pinned to full SHAs, no persisted credentials."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from .conftest import PROJECT

WORKFLOWS = sorted((PROJECT / ".github" / "workflows").glob("*.yml"))


def test_there_are_ci_and_pages_workflows() -> None:
    assert {"ci.yml", "pages.yml"} <= {p.name for p in WORKFLOWS}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_hardened(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {}, "permissions: {} at the top, granted per job"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} must declare its own permissions"
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses is None:
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{name}: {uses} is not pinned to a full commit SHA"
            if uses.startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}: checkout must not persist credentials"
    assert "pull_request_target" not in (workflow.get(True) or workflow.get("on") or {})


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "--with-handbook"),
        ({"SITE_BASE_URL": "https://org.github.io/repo"}, "--with-handbook --base-url https://org.github.io/repo"),
        ({"CONSULT_COUNTS_URL": "https://talk.example/intake/counts.json"}, "--with-handbook --counts https://talk.example/intake/counts.json"),
    ],
)
def test_publishing_passes_counts_only_when_configured(tmp_path: Path, variables: dict[str, str], expected: str) -> None:
    """The Build step's script, run with `make` and `consult` stood in for: the options it passes for each set of variables."""
    import os
    import subprocess

    workflow = yaml.safe_load((PROJECT / ".github" / "workflows" / "pages.yml").read_text())
    step = next(s for s in workflow["jobs"]["build"]["steps"] if s.get("name") == "Build")
    assert step["env"]["CONSULT_COUNTS_URL"] == "${{ vars.CONSULT_COUNTS_URL }}"
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    consult = tmp_path / ".venv" / "bin" / "consult"
    consult.write_text('#!/bin/sh\necho "$@" > consult-args\n')
    make = tmp_path / "make"
    make.write_text("#!/bin/sh\n")
    for stub in (consult, make):
        stub.chmod(0o755)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "SITE_BASE_URL": "", "CONSULT_COUNTS_URL": "", **variables}
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, check=True)
    assert (tmp_path / "consult-args").read_text().strip() == f"build {expected}"
