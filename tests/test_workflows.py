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
