"""Validation: every kind of problem names the file, the line and the key, with a hint."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator.build import check
from generator.errors import ContentError, Problem


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


IDEA = """
    ---
    title: Hot drinks on every ward at night
    challenge: getting-the-basics-right
    summary: A kettle that works on every ward.
    submitted: 2026-11-01
    published: 2026-11-03
    reference: TH-ABCDE
    tags: [food-at-night]
    ---
    Body of the idea.
"""


def problems_for(root: Path) -> list[Problem]:
    with pytest.raises(ContentError) as info:
        check(root)
    return info.value.problems


def only(problems: list[Problem], path: str) -> Problem:
    found = [p for p in problems if p.path == path]
    assert len(found) == 1, problems
    return found[0]


def test_sample_content_is_valid(sample_repo: Path) -> None:
    site = check(sample_repo)
    assert len(site.challenges) == 5
    assert len(site.ideas) >= 30


def test_unknown_key_suggests_nearest(sample_repo: Path) -> None:
    write(sample_repo, "content/ideas/getting-the-basics-right/kettle.md", IDEA.replace("summary:", "sumary:"))
    problem = only(problems_for(sample_repo), "content/ideas/getting-the-basics-right/kettle.md")
    assert (problem.line, problem.key, problem.message) == (4, "sumary", "unknown key")
    assert "did you mean 'summary'?" in problem.hint
    assert str(problem).startswith("content/ideas/getting-the-basics-right/kettle.md:4: sumary: unknown key")


def test_missing_challenge_lists_the_real_ones(sample_repo: Path) -> None:
    text = IDEA.replace("challenge: getting-the-basics-right", "challenge: getting-basics-right")
    write(sample_repo, "content/ideas/getting-the-basics-right/kettle.md", text)
    problem = only(problems_for(sample_repo), "content/ideas/getting-the-basics-right/kettle.md")
    assert problem.key == "challenge" and problem.line == 3
    assert "no challenge 'getting-basics-right'" in problem.message
    assert "did you mean 'getting-the-basics-right'?" in problem.hint
    assert "feeling-empowered" in problem.hint


def test_wrong_date_format_gives_the_right_format(sample_repo: Path) -> None:
    write(sample_repo, "content/ideas/getting-the-basics-right/kettle.md", IDEA.replace("submitted: 2026-11-01", "submitted: 01/11/2026"))
    problem = only(problems_for(sample_repo), "content/ideas/getting-the-basics-right/kettle.md")
    assert (problem.key, problem.line) == ("submitted", 5)
    assert "found '01/11/2026'" in problem.message
    assert "YYYY-MM-DD" in problem.hint


def test_wrong_status_names_the_allowed_values(sample_repo: Path) -> None:
    write(sample_repo, "content/ideas/getting-the-basics-right/kettle.md", IDEA.replace("tags:", "status: approved\n    tags:"))
    problem = only(problems_for(sample_repo), "content/ideas/getting-the-basics-right/kettle.md")
    assert problem.key == "status"
    assert "'under-consideration'" in problem.message and "found 'approved'" in problem.message


def test_missing_required_key(sample_repo: Path) -> None:
    write(sample_repo, "content/ideas/getting-the-basics-right/kettle.md", IDEA.replace("    reference: TH-ABCDE\n", ""))
    problem = only(problems_for(sample_repo), "content/ideas/getting-the-basics-right/kettle.md")
    assert (problem.key, problem.message) == ("reference", "required key is missing")
    assert "submission reference" in problem.hint


def test_yaml_syntax_error_has_a_line(sample_repo: Path) -> None:
    write(sample_repo, "content/ideas/getting-the-basics-right/kettle.md", IDEA.replace("tags: [food-at-night]", "tags: [food-at-night"))
    problem = only(problems_for(sample_repo), "content/ideas/getting-the-basics-right/kettle.md")
    assert problem.key == "front matter" and "YAML syntax" in problem.message
    assert problem.line == 8  # the unclosed list on the tags line


def test_unclosed_front_matter(sample_repo: Path) -> None:
    write(sample_repo, "content/pages/help.md", "---\ntitle: Help\n")
    problem = only(problems_for(sample_repo), "content/pages/help.md")
    assert "not closed" in problem.message


def test_bad_file_name(sample_repo: Path) -> None:
    write(sample_repo, "content/events/Big Event.md", "---\ntitle: x\n---\n")
    problem = only(problems_for(sample_repo), "content/events/Big Event.md")
    assert problem.key == "file name"


def test_response_needed_for_responded_status(sample_repo: Path) -> None:
    write(sample_repo, "content/ideas/getting-the-basics-right/kettle.md", IDEA.replace("tags:", "status: adopted\n    tags:"))
    problem = only(problems_for(sample_repo), "content/ideas/getting-the-basics-right/kettle.md")
    assert "needs a response block" in problem.message


def test_role_must_come_from_site_yml(sample_repo: Path) -> None:
    write(sample_repo, "content/ideas/getting-the-basics-right/kettle.md", IDEA.replace("tags:", "role: Nurses\n    tags:"))
    problem = only(problems_for(sample_repo), "content/ideas/getting-the-basics-right/kettle.md")
    assert problem.key == "role" and "did you mean 'Nurse'?" in problem.hint


def reference_of(path: Path) -> str:
    """The `reference:` a content file's front matter gives."""
    return next(line.split(": ")[1].strip('"') for line in path.read_text().splitlines() if line.startswith("reference:"))


def test_duplicate_reference(sample_repo: Path) -> None:
    existing = next((sample_repo / "content/ideas").rglob("*.md"))
    ref = reference_of(existing)
    write(sample_repo, "content/ideas/getting-the-basics-right/kettle.md", IDEA.replace("TH-ABCDE", ref))
    problem = only(problems_for(sample_repo), "content/ideas/getting-the-basics-right/kettle.md")
    assert problem.key == "reference" and "already used" in problem.message


def test_event_needs_location_or_online(sample_repo: Path) -> None:
    write(
        sample_repo,
        "content/events/meet-up.md",
        """
        ---
        title: Meet up
        summary: A meeting in person somewhere.
        start: "2026-12-03 14:00"
        end: "2026-12-03 15:00"
        ---
        Body.
    """,
    )
    problem = only(problems_for(sample_repo), "content/events/meet-up.md")
    assert "needs a location" in problem.message


def test_bad_event_time_hint(sample_repo: Path) -> None:
    write(
        sample_repo,
        "content/events/meet-up.md",
        """
        ---
        title: Meet up
        summary: A meeting in person somewhere.
        start: "3rd December at 2pm"
        end: "2026-12-03 15:00"
        online: true
        ---
        Body.
    """,
    )
    problem = only(problems_for(sample_repo), "content/events/meet-up.md")
    assert problem.key == "start" and problem.line == 4 and "YYYY-MM-DD HH:MM" in problem.hint


def test_comment_target_must_exist(sample_repo: Path) -> None:
    write(
        sample_repo,
        "content/comments/no-such-idea/TH-QQQQQ.md",
        """
        ---
        target: idea:no-such-idea
        submitted: 2026-11-10
        reference: TH-QQQQQ
        ---
        A comment.
    """,
    )
    problem = only(problems_for(sample_repo), "content/comments/no-such-idea/TH-QQQQQ.md")
    assert problem.key == "target" and "no idea 'no-such-idea'" in problem.message


def test_comment_reusing_an_ideas_reference(sample_repo: Path) -> None:
    """References are told unique across ideas, topics and comments together: a comment may not reuse an idea's."""
    existing = next((sample_repo / "content/ideas").rglob("*.md"))
    ref = reference_of(existing)
    slug = existing.stem
    write(
        sample_repo,
        f"content/comments/{slug}/{ref}.md",
        f"""
        ---
        target: idea:{slug}
        submitted: 2026-11-10
        reference: {ref}
        ---
        A comment.
    """,
    )
    problem = only(problems_for(sample_repo), f"content/comments/{slug}/{ref}.md")
    assert problem.key == "reference" and f"{ref} is already used by {existing.relative_to(sample_repo)}" in problem.message


def test_site_yml_problems(sample_repo: Path) -> None:
    site_yml = sample_repo / "site.yml"
    site_yml.write_text(
        site_yml.read_text()
        .replace("title: Talk Health and Care", "titel: Talk Health and Care")
        .replace("base_url: http://localhost:8000", "base_url: localhost")
    )
    problems = [p for p in problems_for(sample_repo) if p.path == "site.yml"]
    keys = {p.key: p for p in problems}
    assert "did you mean 'title'?" in keys["titel"].hint and keys["titel"].line == 4
    assert "http://" in keys["base_url"].message


def test_every_problem_is_reported_at_once(sample_repo: Path) -> None:
    write(sample_repo, "content/ideas/getting-the-basics-right/a.md", IDEA.replace("summary:", "sumary:"))
    write(
        sample_repo,
        "content/ideas/getting-the-basics-right/b.md",
        IDEA.replace("TH-ABCDE", "TH-BBBBB").replace("submitted: 2026-11-01", "submitted: soon"),
    )
    write(sample_repo, "content/pages/x.md", "no front matter")
    paths = {p.path for p in problems_for(sample_repo)}
    assert {"content/ideas/getting-the-basics-right/a.md", "content/ideas/getting-the-basics-right/b.md", "content/pages/x.md"} <= paths
