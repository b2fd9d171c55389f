"""The consult CLI: exit codes, messages, and `consult new` writing valid files."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.build import check
from generator.cli import main
from generator.errors import ConsultError

from .conftest import PROJECT

COMMANDS = ["build", "check", "export", "handbook", "intake", "moderate", "new", "reference", "review", "serve"]
"""Every command `consult --help` lists, the intake's included."""

HEAVY = ("pelican", "starlette", "uvicorn", "psycopg", "psycopg_pool", "pydantic", "jinja2", "github3", "notifications_python_client")
"""Packages only the commands that use them may load: `consult --help` starts without them."""


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
    expected = (
        f"{rel}:{status_line}: status: 'published' is deprecated; it is read as 'waiting' (Waiting for a response) (hint: write status: waiting)"
    )
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


def test_a_relative_output_folder_is_taken_under_the_root_by_every_command(
    runner: CliRunner, sample_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`consult --root site build -o public` writes site/public wherever it is run from, and so does `export`,
    as their help says: the same rule as the content and the counts file."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    built = runner.invoke(main, ["--root", str(sample_repo), "build", "--output", "public"])
    assert built.exit_code == 0, built.output
    assert (sample_repo / "public" / "index.html").is_file()
    exported = runner.invoke(main, ["--root", str(sample_repo), "export", "--format", "csv", "--output", "analysis"])
    assert exported.exit_code == 0, exported.output
    assert (sample_repo / "analysis" / "ideas.csv").is_file()
    assert not any(elsewhere.iterdir())
    for command in ("build", "serve", "handbook", "export"):
        assert "under --root unless absolute" in " ".join(runner.invoke(main, [command, "--help"]).output.split()), command


def test_build_writes_the_site(runner: CliRunner, sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "public"
    result = runner.invoke(main, ["--root", str(sample_repo), "build", "--output", str(out), "--timings"])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").exists()
    for stage in (
        "load",
        "validate",
        "markdown",
        "render pages",
        "write pages",
        "assets",
        "search index",
        "total",
        "peak memory, build",
        "peak memory, search index",
    ):
        assert stage in result.output, stage


def test_the_consult_command_ends_at_once_after_a_build_and_after_nothing_to_do_with_its_output_said(sample_repo: Path, tmp_path: Path) -> None:
    """`run` (the console script) ends the process without Python's normal exit once `consult build` has built or found
    nothing to do: what it printed to a pipe must still arrive, and the exit code be 0."""
    command = [sys.executable, "-m", "generator.cli", "--root", str(sample_repo), "build", "--output", str(tmp_path / "public")]
    first = subprocess.run(command, check=False, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Built "), first.stdout
    again = subprocess.run(command, check=False, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Nothing changed since the last build"), again.stdout


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


def test_a_consult_error_prints_its_message_and_exits_1(runner: CliRunner, sample_repo: Path) -> None:
    result = runner.invoke(main, ["--root", str(sample_repo), "new", "idea", "A title"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: an idea needs --challenge SLUG; the challenges are: ") and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("names", "count"), [(["feeling-empowered"], "Found 1 problem;"), (["feeling-empowered", "getting-the-basics-right"], "Found 2 problems;")]
)
def test_content_problems_are_counted_after_the_list(runner: CliRunner, sample_repo: Path, names: list[str], count: str) -> None:
    for name in names:
        challenge = sample_repo / "challenges" / f"{name}.md"
        challenge.write_text(challenge.read_text().replace("order:", "colour: teal\norder:"))
    result = runner.invoke(main, ["--root", str(sample_repo), "check"])
    *problems, last = result.stderr.splitlines()
    assert result.exit_code == 1 and [line.split(":")[0] for line in problems] == [f"challenges/{name}.md" for name in names], result.stderr
    assert all("colour: unknown key" in line for line in problems) and last == f"{count} nothing was built."


def test_debug_raises_a_consult_error_from_any_command_with_its_traceback(runner: CliRunner, sample_repo: Path) -> None:
    result = runner.invoke(main, ["--root", str(sample_repo), "--debug", "new", "idea", "A title"])
    assert result.exit_code == 1 and isinstance(result.exception, ConsultError)
    assert result.exc_info is not None and result.exc_info[2] is not None
    frames = [frame.name for frame in traceback.extract_tb(result.exc_info[2])]
    assert "new_file" in frames, frames  # the traceback reaches where the error was raised


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run Python code in a new interpreter from the project folder."""
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=60, check=False)


def test_the_intake_commands_import_without_the_consult_command_module() -> None:
    result = _fresh("import sys, intake.cli, intake.moderate_cli; print('generator.cli' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_consult_imports_alone_and_adds_the_intake_groups() -> None:
    code = "from generator.cli import main; import intake.cli as i, intake.moderate_cli as m; print(main.commands['intake'] is i.intake, main.commands['review'] is i.review, main.commands['moderate'] is m.moderate)"
    result = _fresh(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]


def _imported_modules(source: str, package: str) -> set[str]:
    """Every module the source of a module in `package` imports, late imports inside functions included, as absolute names."""
    parts = package.split(".")
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _imports_of(path: Path) -> set[str]:
    return _imported_modules(path.read_text(encoding="utf-8"), ".".join(path.relative_to(PROJECT).parts[:-1]))


def test_the_import_reader_sees_late_and_relative_imports() -> None:
    source = "import click\n\ndef command():\n    from ..cli import Context\n    from . import review\n    import generator.errors\n"
    assert _imported_modules(source, "generator.sub") == {
        "click",
        "generator.cli",
        "generator.cli.Context",
        "generator.sub",
        "generator.sub.review",
        "generator.errors",
    }


def test_no_intake_module_imports_the_consult_command_module_even_late() -> None:
    offenders = [path.relative_to(PROJECT).as_posix() for path in sorted((PROJECT / "intake").rglob("*.py")) if "generator.cli" in _imports_of(path)]
    assert offenders == [], "intake imports generator.cli, which imports intake.cli: share code through generator.cli_context instead"
    shared = _imports_of(PROJECT / "generator" / "cli_context.py")
    assert not [name for name in shared if name == "generator.cli" or name.startswith(("generator.cli.", "intake"))]


def test_consult_help_lists_every_command_without_loading_the_heavy_packages() -> None:
    code = (
        "import json, sys\n"
        "from generator.cli import main\n"
        "try:\n    main(['--help'], prog_name='consult')\n"
        "except SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    result = _fresh(code)
    assert result.returncode == 0, result.stderr
    *help_lines, loaded = result.stdout.splitlines()
    listed = [line.split()[0] for line in help_lines[help_lines.index("Commands:") + 1 :] if line.strip()]
    assert listed == COMMANDS
    assert json.loads(loaded) == []


def test_the_build_pipeline_loads_icalendar_only_to_write_the_calendars(sample_repo: Path, tmp_path: Path) -> None:
    """An edited build's main process never writes a calendar (the process beside the rendering does): it need not import icalendar."""
    code = (
        "import sys\n"
        "import generator.build\n"
        "assert 'icalendar' not in sys.modules, 'imported with the pipeline'\n"
        "from generator.build import build\n"
        "from pathlib import Path\n"
        f"build(Path({str(sample_repo)!r}), Path({str(tmp_path / 'site')!r}))\n"
        "print('icalendar' in sys.modules)"
    )
    result = _fresh(code)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "events.ics").is_file()
    assert result.stdout.strip() == "False"  # written by the forked process beside the rendering


def test_python_m_runs_the_intake_group_with_the_same_context(sample_repo: Path) -> None:
    env = {**os.environ, "CONSULT_NOW": "not a date"}
    result = subprocess.run(
        [sys.executable, "-m", "generator.cli", "--root", str(sample_repo), "intake"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("Error: CONSULT_NOW must be a date or time") and "Traceback" not in result.stderr
