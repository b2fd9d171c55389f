"""The publishing workflow's build, reproduced: a fresh clone with the cache folders restored builds only what one merge changed.

As `.github/workflows/pages.yml` does: check out the repository afresh (every
file's modification time is new), restore `.consult/cache/`,
`.consult/templates/` and `_site/` as the last run left them, run `consult build`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from jinja2 import FileSystemBytecodeCache

from generator import contentcache
from generator.cli import main
from generator.engine import bytecode_cache
from generator.freshness import STAMP, cache_file
from generator.manifest import CHANGES, MANIFEST, read_manifest
from generator.pagewriter import page_file

from .conftest import BUILD_NOW, PROJECT, copy_sample
from .test_incremental import recorded_pages, tree

WORKFLOW = PROJECT / ".github" / "workflows" / "pages.yml"


def cache_steps() -> tuple[dict[str, Any], dict[str, Any]]:
    """The publishing workflow's steps that restore the last build's folders and save this one's."""
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["build"]["steps"]
    restore = next(step for step in steps if step.get("uses", "").startswith("actions/cache/restore@"))
    save = next(step for step in steps if step.get("uses", "").startswith("actions/cache/save@"))
    build = next(step for step in steps if step.get("name") == "Build")
    assert steps.index(restore) < steps.index(build) < steps.index(save)
    return restore, save


CACHED = tuple(cache_steps()[0]["with"]["path"].split())
"""What the workflow keeps between runs."""
RESTORED_AT = 1_600_000_000
"""The modification time given to restored files: any page written by the build has a later one."""


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=ci-test", "-c", "user.email=ci@example.invalid", *args], cwd=cwd, check=True, capture_output=True)


def clone(origin: Path, target: Path) -> Path:
    git("clone", "-q", str(origin), str(target), cwd=origin.parent)
    return target


def consult_build(root: Path, *options: str) -> str:
    """`consult build` as the workflow runs it (in this process, so the test can see what it parses)."""
    result = CliRunner().invoke(main, ["--root", str(root), "build", *options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def save_cache(checkout: Path, store: Path) -> None:
    for part in CACHED:
        shutil.copytree(checkout / part, store / part)


def restore_cache(store: Path, checkout: Path) -> None:
    for part in CACHED:
        shutil.copytree(store / part, checkout / part)
        for path in (checkout / part).rglob("*"):
            os.utime(path, (RESTORED_AT, RESTORED_AT))


def pages(site: Path) -> list[str]:
    """Every page file the build's manifest lists."""
    return sorted(page_file(url) for url in read_manifest(site).pages)


@pytest.mark.slow
def test_a_fresh_clone_with_the_cache_restored_builds_only_what_the_merge_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed: list[str]
) -> None:
    monkeypatch.setenv("CONSULT_NOW", BUILD_NOW.isoformat())
    origin = copy_sample(tmp_path / "origin")
    git("init", "-q", "-b", "main", cwd=origin)
    git("add", "-A", cwd=origin)
    git("commit", "-q", "-m", "The sample site", cwd=origin)

    # The run before the merge: a cold build, whose cache folders the workflow saves.
    first = clone(origin, tmp_path / "run-1")
    consult_build(first)
    save_cache(first, tmp_path / "saved")
    before = {name: (first / "_site" / name).read_bytes() for name in pages(first / "_site")}
    assert len(parsed) > 50

    # The merge: one idea's text changes.
    idea = min((origin / "content" / "ideas").glob("*/*.md"))
    changed = idea.relative_to(origin).as_posix()
    idea.write_text(idea.read_text(encoding="utf-8").rstrip() + "\n\nA paragraph added by the merged pull request.\n", encoding="utf-8")
    git("commit", "-q", "-am", "Edit one idea", cwd=origin)

    # The run after it: a fresh checkout (new modification times everywhere), the cache restored, a build.
    second = clone(origin, tmp_path / "run-2")
    restore_cache(tmp_path / "saved", second)
    parsed.clear()
    read: list[str] = []

    def watched_open(path: str, *args: Any) -> Any:
        read.append(Path(path).relative_to(second).as_posix())
        return open(path, *args)  # the caller closes it

    with monkeypatch.context() as watching:
        watching.setattr(contentcache, "open", watched_open, raising=False)
        output = consult_build(second)
    assert parsed == [changed], "a file whose bytes the restored cache knows was parsed again"
    assert read == [changed], "a file git's index knows unmodified was read again (generator/gitindex.py)"
    rendered = sorted(name for name in pages(second / "_site") if (second / "_site" / name).stat().st_mtime != RESTORED_AT)
    counts = re.search(r"\((\d+) rendered, (\d+) unchanged\)", output)
    assert counts, output
    assert int(counts.group(1)) == len(rendered)

    # The same commit built cold, from nothing.
    cold = clone(origin, tmp_path / "cold")
    consult_build(cold)
    after = {name: (cold / "_site" / name).read_bytes() for name in pages(cold / "_site")}
    showing = sorted(name for name in after if name not in before or before[name] != after[name])
    assert f"ideas/{idea.stem}/index.html" in showing
    assert rendered == showing, "rendered pages whose bytes did not change, or kept pages that did"
    # The stamp records the inputs' modification times (freshness.py), which differ between any two checkouts;
    # the manifest (its base and its changes) numbers its reads in the order builds made them: what it records for each page must be the same.
    assert recorded_pages(second / "_site") == recorded_pages(cold / "_site")
    incremental, reference = (
        {name: data for name, data in tree(checkout / "_site").items() if name not in (STAMP, MANIFEST, CHANGES)} for checkout in (second, cold)
    )
    assert sorted(incremental) == sorted(reference), f"files differ: {sorted(set(incremental) ^ set(reference))[:10]}"
    different = [name for name in reference if incremental[name] != reference[name]]
    assert not different, f"{len(different)} files differ from a cold build, e.g. {different[:5]}"


def test_the_workflow_keeps_what_the_build_reuses(tmp_path: Path) -> None:
    restore, save = cache_steps()
    assert restore["with"]["path"] == save["with"]["path"] and restore["with"]["key"] == save["with"]["key"]
    assert restore["with"]["restore-keys"] and restore["with"]["key"].startswith(restore["with"]["restore-keys"]), (
        "the newest earlier build is restored"
    )
    templates = bytecode_cache(tmp_path)
    assert isinstance(templates, FileSystemBytecodeCache)
    wanted = {cache_file(tmp_path).parent, Path(templates.directory), tmp_path / "_site"}
    assert {tmp_path / part for part in CACHED} == wanted, "the build's own folders, and only those (.consult/ also holds the intake's store)"
