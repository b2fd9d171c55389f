"""The fresh-clone path: a clone of the committed repository sets itself up and builds."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import PROJECT


@pytest.mark.slow
def test_fresh_clone_sets_up_checks_and_builds(tmp_path: Path) -> None:
    if (
        not (PROJECT / ".git").exists()
        or subprocess.run(["git", "-C", str(PROJECT), "rev-parse", "HEAD"], check=False, capture_output=True).returncode
    ):
        pytest.fail("the project is not a git checkout with a commit; the fresh-clone test needs one")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(PROJECT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    setup = subprocess.run(["make", "setup"], check=False, cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    consult = clone / ".venv" / "bin" / "consult"
    checked = subprocess.run([str(consult), "check"], check=False, cwd=clone, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    built = subprocess.run([str(consult), "build"], check=False, cwd=clone, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert (clone / "_site" / "index.html").exists()
    # The second set-up is a no-op: nothing to install, nothing rebuilt.
    again = subprocess.run(["make", "-q", "setup"], check=False, cwd=clone, env=env)
    assert again.returncode == 0, "make setup is not idempotent: `make -q setup` says work remains"
    shutil.rmtree(clone, ignore_errors=True)
