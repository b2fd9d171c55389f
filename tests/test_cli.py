"""The consult CLI: exit codes, messages, and `consult new` writing valid files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.build import check
from generator.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_ok(runner: CliRunner, sample_repo: Path) -> None:
    result = runner.invoke(main, ["--root", str(sample_repo), "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 5 challenges")


def test_check_problem_exits_1_with_lines_and_no_traceback(runner: CliRunner, sample_repo: Path) -> None:
    challenge = sample_repo / "challenges" / "feeling-empowered.md"
    challenge.write_text(challenge.read_text().replace("order: 1", "ordre: 1"))
    result = runner.invoke(main, ["--root", str(sample_repo), "check"])
    assert result.exit_code == 1
    assert "challenges/feeling-empowered.md:" in result.stderr and "ordre: unknown key (hint: did you mean 'order'?)" in result.stderr
    assert "Traceback" not in result.output


def test_check_accepts_the_old_published_status_and_says_it_is_deprecated(runner: CliRunner, sample_repo: Path) -> None:
    idea = next((sample_repo / "content" / "ideas").glob("*/*.md"))
    text = idea.read_text(encoding="utf-8")
    lines = text.splitlines()
    status_line = next(n for n, line in enumerate(lines, 1) if line.startswith("status:"))
    idea.write_text("\n".join("status: published" if n == status_line else line for n, line in enumerate(lines, 1)) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["--root", str(sample_repo), "check"])
    assert result.exit_code == 0, result.output
    rel = idea.relative_to(sample_repo).as_posix()
    expected = f"{rel}:{status_line}: status: 'published' is deprecated; it is read as 'waiting' (Waiting for a response) (hint: write status: waiting)"
    assert expected in result.stderr.splitlines()
    assert "Found 1 deprecated value" in result.stderr
    site = check(sample_repo)
    assert site.ideas[idea.stem].meta.status.value == "waiting"


def test_sample_content_uses_no_deprecated_value(runner: CliRunner, sample_repo: Path) -> None:
    result = runner.invoke(main, ["--root", str(sample_repo), "check"])
    assert result.exit_code == 0 and "deprecated" not in result.output, result.output


def test_debug_shows_the_exception(runner: CliRunner, sample_repo: Path) -> None:
    (sample_repo / "site.yml").write_text("title: [\n")
    result = runner.invoke(main, ["--root", str(sample_repo), "--debug", "check"])
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "ContentError"


def test_usage_error_exits_2(runner: CliRunner) -> None:
    assert runner.invoke(main, ["build", "--no-such-option"]).exit_code == 2
    assert runner.invoke(main, ["new", "poem", "A title"]).exit_code == 2
    assert runner.invoke(main, ["frobnicate"]).exit_code == 2


@pytest.mark.parametrize("args", [["--help"], ["build", "--help"], ["check", "--help"], ["serve", "--help"], ["new", "--help"]])
def test_help_everywhere(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == 0 and "Usage:" in result.output


def test_build_writes_the_site(runner: CliRunner, sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "public"
    result = runner.invoke(main, ["--root", str(sample_repo), "build", "--output", str(out), "--timings"])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").exists()
    for stage in ("load", "validate", "markdown", "render pages", "write pages", "assets", "search index", "total", "peak memory, build", "peak memory, search index"):
        assert stage in result.output, stage


@pytest.mark.parametrize(
    ("kind", "title", "extra", "expected"),
    [
        ("challenge", "Looking after carers", [], "challenges/looking-after-carers.md"),
        ("idea", "Free tea at handover!", ["--challenge", "feeling-empowered"], "content/ideas/feeling-empowered/free-tea-at-handover.md"),
        ("event", "Winter webinar", [], "content/events/winter-webinar.md"),
        ("page", "Contact us", [], "content/pages/contact-us.md"),
    ],
)
def test_new_writes_a_valid_file(runner: CliRunner, sample_repo: Path, kind: str, title: str, extra: list[str], expected: str) -> None:
    result = runner.invoke(main, ["--root", str(sample_repo), "new", kind, title, *extra])
    assert result.exit_code == 0, result.output
    assert (sample_repo / expected).exists()
    check(sample_repo)  # the new file passes validation as written


def test_new_idea_needs_an_existing_challenge(runner: CliRunner, sample_repo: Path) -> None:
    result = runner.invoke(main, ["--root", str(sample_repo), "new", "idea", "x y z", "--challenge", "nope"])
    assert result.exit_code == 1
    assert "no challenge 'nope'" in result.stderr and "feeling-empowered" in result.stderr


def test_new_refuses_to_overwrite(runner: CliRunner, sample_repo: Path) -> None:
    assert runner.invoke(main, ["--root", str(sample_repo), "new", "page", "About"]).exit_code == 1
