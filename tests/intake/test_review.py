"""`consult review` on the local forge: list, show (flags computed now), edit in $EDITOR, accept with a summary and tags."""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import main
from intake.catalogue import CatalogueHolder
from intake.forge.local import LocalGitForge
from intake.review import age
from intake.settings import IntakeSettings
from intake.store import Store
from intake.worker import Worker

from .conftest import IDEA, git, intake_env

PUBLIC = {k: v for k, v in IDEA.items() if k not in ("email", "notify", "consent", "website")}
PATH = "content/ideas/getting-the-basics-right/water-fountains-on-every-ward-corridor.md"
EDITOR_SCRIPT = textwrap.dedent("""
    import json, pathlib, sys
    plan = pathlib.Path(sys.argv[1])
    steps = json.loads(plan.read_text())
    step = steps.pop(0)
    plan.write_text(json.dumps(steps))
    draft = pathlib.Path(sys.argv[2])
    text = draft.read_text(encoding="utf-8")
    for old, new in step:
        assert old in text, f"the editor expected {old!r} in:\\n{text}"
        text = text.replace(old, new)
    draft.write_text(text, encoding="utf-8")
""")


@pytest.fixture
def env(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in intake_env(tmp_path / "data").items():
        monkeypatch.setenv(key, value)
    return intake_env(tmp_path / "data")


def propose(repo: Path, env: dict[str, str], *submissions: dict[str, str]) -> list[str]:
    """Store the submissions and let the worker propose them as branches (one run: arrival flags see each other)."""
    settings = IntakeSettings.from_environment(repo, environ=env)
    store = Store.from_settings(settings)
    references = [store.add_now("idea", fields, None) for fields in submissions]
    Worker(settings, store, LocalGitForge(repo, "main"), CatalogueHolder(repo)).run_once()
    store.close()
    return references


def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *steps: list[tuple[str, str]]) -> Path:
    """Point $EDITOR at a script that makes these replacements, one step per time the editor opens."""
    script, plan = tmp_path / "editor.py", tmp_path / "plan.json"
    script.write_text(EDITOR_SCRIPT)
    plan.write_text(json.dumps([list(map(list, step)) for step in steps]))
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script} {plan}")
    monkeypatch.delenv("VISUAL", raising=False)
    return plan


def review(repo: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--root", str(repo), "review", *args], input=input)


def on_branch(repo: Path, reference: str) -> str:
    return git(repo, "show", f"submissions/{reference}:{PATH}")


def test_edit_commits_a_checked_edit_to_the_branch_and_accept_publishes_it(
    repo: Path, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [ref] = propose(repo, env, PUBLIC)
    head = git(repo, "rev-parse", "HEAD")
    editor(
        tmp_path,
        monkeypatch,
        [("summary: ''", "summary: A water fountain on each corridor, so staff can drink on long shifts."), ("tags: []", "tags:\n- hydration")],
    )
    result = review(repo, "edit", ref)
    assert result.exit_code == 0, result.output
    assert f"Committed your edit of {ref} to submissions/{ref}" in result.output
    text = on_branch(repo, ref)
    assert "summary: A water fountain on each corridor" in text and "- hydration" in text
    assert git(repo, "rev-list", "--count", f"main..submissions/{ref}") == "2", "the intake's commit, then the edit"
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == "", "the checkout is untouched"
    assert not (repo / ".consult" / "review" / ref).exists(), "no draft left behind"
    assert review(repo, "accept", ref).exit_code == 0
    assert "- hydration" in (repo / PATH).read_text()


def test_a_problem_is_shown_and_the_editor_reopens_on_the_edit_so_far(
    repo: Path, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [ref] = propose(repo, env, PUBLIC)
    plan = editor(
        tmp_path,
        monkeypatch,
        [("summary: ''", "summary: Fountains on every corridor."), ("tags: []", "tags:\n- Night Shifts")],
        [("- Night Shifts", "- night-shifts")],  # only works if the first step's text is still there
    )
    result = review(repo, "edit", ref, input="y\n")
    assert result.exit_code == 0, result.output
    assert f"{PATH}:" in result.output and "tags" in result.output, "the problem names the file, line and key"
    assert "nothing was committed" in result.output
    assert json.loads(plan.read_text()) == [], "the editor was opened twice"
    text = on_branch(repo, ref)
    assert "summary: Fountains on every corridor." in text and "- night-shifts" in text
    assert git(repo, "rev-list", "--count", f"main..submissions/{ref}") == "2", "one commit: the bad version never reached the branch"


def test_an_edit_left_unfixed_is_kept_for_next_time(repo: Path, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [ref] = propose(repo, env, PUBLIC)
    before = on_branch(repo, ref)
    editor(
        tmp_path,
        monkeypatch,
        [("summary: ''", "summary: Kept across runs."), ("challenge: getting-the-basics-right", "challenge: no-such-challenge")],
    )
    result = review(repo, "edit", ref, input="n\n")
    assert result.exit_code == 1
    assert "no challenge 'no-such-challenge'" in result.output
    assert f"consult review edit {ref}" in result.output and "kept in" in result.output
    assert on_branch(repo, ref) == before, "nothing committed"

    editor(tmp_path, monkeypatch, [("challenge: no-such-challenge", "challenge: getting-the-basics-right")])
    result = review(repo, "edit", ref)
    assert result.exit_code == 0, result.output
    assert "Carrying on with your unfinished edit" in result.output
    assert "summary: Kept across runs." in on_branch(repo, ref)


def test_an_edit_to_the_challenge_moves_the_file(repo: Path, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [ref] = propose(repo, env, PUBLIC)
    other = min(p.stem for p in (repo / "challenges").glob("*.md") if p.stem != "getting-the-basics-right")
    editor(tmp_path, monkeypatch, [("challenge: getting-the-basics-right", f"challenge: {other}")])
    result = review(repo, "edit", ref)
    assert result.exit_code == 0, result.output
    moved = f"content/ideas/{other}/water-fountains-on-every-ward-corridor.md"
    assert f"moved to {moved}" in result.output
    assert git(repo, "diff", "--name-status", "--no-renames", f"main...submissions/{ref}") == f"A\t{moved}"


def test_no_change_commits_nothing(repo: Path, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [ref] = propose(repo, env, PUBLIC)
    editor(tmp_path, monkeypatch, [])
    monkeypatch.setenv("EDITOR", "true")
    result = review(repo, "edit", ref)
    assert result.exit_code == 0 and "nothing committed" in result.output
    assert git(repo, "rev-list", "--count", f"main..submissions/{ref}") == "1"


def test_accept_with_a_summary_and_tags(repo: Path, env: dict[str, str]) -> None:
    [ref] = propose(repo, env, PUBLIC)
    result = review(repo, "accept", ref, "--summary", "Fountains on every corridor.", "--tags", "Night Shifts")
    assert result.exit_code == 1
    assert f"{PATH}:" in result.output and "tags" in result.output and f"{ref} was not accepted" in result.output
    assert git(repo, "branch", "--list", f"submissions/{ref}"), "still waiting"
    assert not (repo / PATH).exists()

    result = review(repo, "accept", ref, "--summary", "Fountains on every corridor.", "--tags", "hydration, night-shifts")
    assert result.exit_code == 0, result.output
    published = (repo / PATH).read_text()
    assert "summary: Fountains on every corridor." in published and "- hydration\n- night-shifts" in published
    assert git(repo, "branch", "--list", "submissions/*") == ""


def test_list_shows_kind_challenge_age_and_flags(repo: Path, env: dict[str, str]) -> None:
    first, second = propose(repo, env, PUBLIC, {**PUBLIC, "name": ""})
    result = review(repo, "list")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[:5] == ["REFERENCE", "KIND", "CHALLENGE", "WAITING", "FLAGS"]
    for reference in (first, second):
        row = next(r for r in rows if r.startswith(reference))
        assert " idea " in row and " getting-the-basics-right " in row and "possible-duplicate" in row
        assert "just now" in row or "minute" in row
        assert row.endswith("Water fountains on every ward corridor")
    assert rows[-1] == "2 waiting. See one with `consult review show REFERENCE`."


def test_the_same_idea_sent_twice_is_flagged_at_arrival_and_whenever_an_editor_looks(repo: Path, env: dict[str, str]) -> None:
    [first] = propose(repo, env, PUBLIC)
    [second] = propose(repo, env, {**PUBLIC, "name": "Alex"})
    at_arrival = git(repo, "log", "-1", "--format=%B", f"submissions/{second}")
    assert f"possible-duplicate: Possible duplicate of submissions waiting for review: {first}" in at_arrival

    shown = review(repo, "show", first)
    assert shown.exit_code == 0, shown.output
    assert "computed now" in shown.output
    assert (
        f"- possible-duplicate: Possible duplicate of submissions waiting for review: {second} ‘Water fountains on every ward corridor’ (100% similar)"
        in shown.output
    )
    assert f"+reference: {first}" in shown.output

    assert review(repo, "accept", first).exit_code == 0
    shown = review(repo, "show", second)
    assert "Possible duplicate of published ideas: ‘Water fountains on every ward corridor’ (100% similar)" in shown.output
    assert "/ideas/water-fountains-on-every-ward-corridor/" in shown.output
    assert first not in shown.output.split("History of")[0], "the accepted one is compared as published, not as waiting"


def test_a_different_idea_is_not_a_duplicate(repo: Path, env: dict[str, str]) -> None:
    _first, second = propose(
        repo,
        env,
        PUBLIC,
        {
            **PUBLIC,
            "title": "Quiet rooms for breaks",
            "idea": "A quiet room on each floor where staff can sit down for ten minutes away from patients and phones.",
        },
    )
    shown = review(repo, "show", second).output
    assert "possible-duplicate" not in shown.split("History of")[0]


def test_review_says_what_is_wrong(repo: Path, env: dict[str, str]) -> None:
    [ref] = propose(repo, env, PUBLIC)
    result = review(repo, "edit", "TH-ZZZZZ")
    assert result.exit_code == 1 and "no branch submissions/TH-ZZZZZ exists" in result.output
    comment = propose_comment(repo, env)
    result = review(repo, "accept", comment, "--summary", "Not for comments.")
    assert result.exit_code == 2 and "only ideas have a summary and tags" in result.output
    assert git(repo, "branch", "--list", f"submissions/{ref}")


def propose_comment(repo: Path, env: dict[str, str]) -> str:
    settings = IntakeSettings.from_environment(repo, environ=env)
    store = Store.from_settings(settings)
    reference = store.add_now("comment", {"target": "idea:hot-food-for-staff-working-nights", "comment": "Yes please, nights need this."}, None)
    Worker(settings, store, LocalGitForge(repo, "main"), CatalogueHolder(repo)).run_once()
    store.close()
    return reference


def test_age_in_words() -> None:
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    assert age(start, start + dt.timedelta(seconds=30)) == "just now"
    assert age(start, start + dt.timedelta(minutes=1)) == "1 minute"
    assert age(start, start + dt.timedelta(hours=5, minutes=3)) == "5 hours"
    assert age(start, start + dt.timedelta(days=3, hours=1)) == "3 days"


def test_a_branch_changed_by_hand_is_still_listed(repo: Path, env: dict[str, str]) -> None:
    first, second = propose(
        repo,
        env,
        PUBLIC,
        {**PUBLIC, "title": "Quiet rooms for breaks", "idea": "A quiet room on each floor for ten minutes away from patients and phones."},
    )
    git(repo, "checkout", "-q", f"submissions/{first}")
    (repo / "content" / "pages" / "extra.md").write_text("---\ntitle: Extra\n---\nAdded by hand.\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "A second file, by hand")
    git(repo, "checkout", "-q", "main")
    result = review(repo, "list")
    assert result.exit_code == 0, result.output
    row = next(r for r in result.output.splitlines() if r.startswith(first))
    assert "2 files changed, not one idea, topic or comment: check the branch out and fix it with git" in row
    assert any(r.startswith(second) and "Quiet rooms for breaks" in r for r in result.output.splitlines())
    result = review(repo, "edit", first)
    assert result.exit_code == 1 and "should propose exactly one idea, topic or comment file" in result.output


def test_with_the_github_forge_review_points_to_the_pull_request(repo: Path, env: dict[str, str]) -> None:
    site = repo / "site.yml"
    assert "forge: local" in site.read_text()
    site.write_text(site.read_text().replace("forge: local", "forge: github"))
    result = review(repo, "edit", "TH-7QK2M")
    assert result.exit_code == 1
    assert "reviewed as pull requests on GitHub" in result.output and "edit the file in the pull request" in result.output
