"""The build's progress bar: shown to a person at a terminal, never in CI or a pipe."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from generator import progress as progress_module
from generator.build import build
from generator.progress import BuildProgress

from .conftest import BUILD_NOW


def test_the_bar_follows_the_stages_and_the_pages(sample_repo: Path, tmp_path: Path) -> None:
    screen = io.StringIO()
    with BuildProgress(True, console=Console(file=screen, force_terminal=True, width=100)) as bar:
        result = build(sample_repo, tmp_path / "site", now=BUILD_NOW, progress=bar)
    shown = screen.getvalue()
    for stage in ("load", "render pages", "search index"):
        assert stage in shown
    total = result.render_stats.rendered
    assert f"{total}/{total}" in shown


def test_a_disabled_bar_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with BuildProgress(False) as bar:
        bar.stage("render pages", total=10)
        bar.set_done(5)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("tty", "env", "expected"), [(True, {}, True), (True, {"CI": "true"}, False), (False, {}, False), (True, {"TERM": "dumb"}, False)]
)
def test_wanted_only_for_a_person_at_a_terminal(monkeypatch: pytest.MonkeyPatch, tty: bool, env: dict[str, str], expected: bool) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(progress_module.sys.stderr, "isatty", lambda: tty)
    assert progress_module.wanted() is expected
