"""CI workflows are least-privilege: no default permissions, actions pinned to full SHAs, no persisted credentials."""

from __future__ import annotations

import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from generator.build import FILES
from generator.freshness import STAMP
from generator.manifest import CHANGES, MANIFEST
from generator.pagewriter import OUTPUTS

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


UPLOAD_PAGES_ARTIFACT = "actions/upload-pages-artifact@7b1f4a764d45c48632c6b24a0339c27f5614fb0b"  # v4.0.0
"""The version whose archive leaves out hidden files (v3 took them, so the build records were published)."""


def test_the_published_site_leaves_the_build_records_out(site_dir: Path, tmp_path: Path) -> None:
    """The records the next build starts from (16 MB at 10,000 ideas) stay in the workflow's cache, not on the public site."""
    workflow = yaml.safe_load((PROJECT / ".github" / "workflows" / "pages.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["uses"] == UPLOAD_PAGES_ARTIFACT and upload["with"]["path"] == "_site"
    saved = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save@"))
    assert "_site" in saved["with"]["path"].split(), "the records are kept for the next run by the cache"
    archive = tmp_path / "artifact.tar"
    # The archive step of that version's action.yml, as it runs on Linux
    subprocess.run(
        [
            "tar",
            "--dereference",
            "--hard-dereference",
            "--directory",
            str(site_dir),
            "-cf",
            str(archive),
            "--exclude=.git",
            "--exclude=.github",
            "--exclude=.[^/]*",
            ".",
        ],
        check=True,
    )
    with tarfile.open(archive) as tar:
        published = {name.removeprefix("./") for name in tar.getnames() if tar.getmember(name).isfile()}
    on_disk = {p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*") if p.is_file()}
    records = {MANIFEST, CHANGES, OUTPUTS, STAMP, FILES}
    assert records <= on_disk
    assert on_disk - published == records, "only the build records are left out"
    assert "index.html" in published and "sitemap.xml" in published and "pagefind/pagefind.js" in published
