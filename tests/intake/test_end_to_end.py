"""End to end on 127.0.0.1, as `consult serve` runs it: form post → 303 → branch → accept → page in the rebuilt site."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from generator.cli import main
from generator.serve import Rebuilder, create_app

from .conftest import IDEA, free_port, git, intake_env, make_repo, serve_app, wait_for


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[tuple[str, Path]]:
    """The site and its intake served together, exactly as `consult serve` does; the store SQLite, then PostgreSQL."""
    for key, value in intake_env(tmp_path / "data", CONSULT_INTAKE_SYNC_SECONDS="0.2", CONSULT_INTAKE_DATABASE_URL=database_url).items():
        monkeypatch.setenv(key, value)
    repo = make_repo(tmp_path / "repo")
    port = free_port()
    base_url = f"http://localhost:{port}"
    rebuild = Rebuilder(repo, tmp_path / "_site", base_url)
    assert rebuild()
    with serve_app(create_app(repo, tmp_path / "_site", rebuild, True, base_url), port) as url:
        yield url, repo
    assert (tmp_path / "data" / "intake.sqlite3").exists() is not bool(database_url), "the store was on the engine asked for"


def review(repo: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--root", str(repo), "review", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_an_idea_goes_from_the_form_to_the_published_site(served: tuple[str, Path]) -> None:
    import httpx

    url, repo = served
    head = git(repo, "rev-parse", "HEAD")
    with httpx.Client(base_url=url, timeout=30) as client:
        share = BeautifulSoup(client.get("/share/").text, "html.parser")
        form = share.select_one("form#share-form")
        assert form["action"] == "/intake/ideas" and form["method"] == "post"

        response = client.post("/intake/ideas", data=IDEA, headers={"Origin": url})
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/intake/confirmation/TH-")
        reference = location.rsplit("/", 1)[1]
        confirmation = BeautifulSoup(client.get(location).text, "html.parser")
        assert confirmation.select_one(".nhsuk-panel--confirmation .consult-reference").get_text(strip=True) == reference
        assert confirmation.select_one(f"main a[href='/intake/status/{reference}']")

        path = "content/ideas/getting-the-basics-right/water-fountains-on-every-ward-corridor.md"
        wait_for(lambda: git(repo, "branch", "--list", f"submissions/{reference}"))
        assert git(repo, "rev-list", "--count", f"main..submissions/{reference}") == "1"
        assert git(repo, "diff", "--name-status", "main", f"submissions/{reference}") == f"A\t{path}"
        content = git(repo, "show", f"submissions/{reference}:{path}")
        assert f"reference: {reference}" in content and "sam@example.org" not in content
        message = git(repo, "log", "-1", "--format=%B", f"submissions/{reference}")
        assert f"Reference: {reference}" in message and "Moderation flags" in message and "sam@example.org" not in message
        # The editor's checkout is untouched by the proposal.
        assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""

        status = client.get(f"/intake/status?reference={reference.lower()}", follow_redirects=True)
        assert status.url.path == f"/intake/status/{reference}"
        assert "Received" in status.text or "With the editors" in status.text
        wait_for(lambda: "With the editors" in client.get(f"/intake/status/{reference}").text)

        assert reference in review(repo, "list")
        shown = review(repo, "show", reference)
        assert "Moderation flags" in shown and f"+reference: {reference}" in shown
        review(repo, "accept", reference)

        page = wait_for(lambda: (r := client.get("/ideas/water-fountains-on-every-ward-corridor/")).status_code == 200 and r, timeout=120)
        assert "Water fountains on every ward corridor" in page.text
        assert "sam@example.org" not in page.text
        status_tag = lambda: BeautifulSoup(client.get(f"/intake/status/{reference}").text, "html.parser").select_one("main strong.nhsuk-tag")
        wait_for(lambda: status_tag().get_text(strip=True) == "Published")
    assert (repo / path).exists()
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "branch", "--list", "submissions/*") == ""


def test_a_rejected_comment_shows_its_public_reason(served: tuple[str, Path]) -> None:
    import httpx

    url, repo = served
    with httpx.Client(base_url=url, timeout=30) as client:
        response = client.post(
            "/intake/comments",
            json={"target": "idea:hot-food-for-staff-working-nights", "comment": "Yes please!", "consent": True},
            headers={"Origin": url},
        )
        assert response.status_code == 202
        reference = response.json()["reference"]
        wait_for(lambda: git(repo, "branch", "--list", f"submissions/{reference}"))
        assert (
            git(repo, "diff", "--name-only", "main", f"submissions/{reference}")
            == f"content/comments/hot-food-for-staff-working-nights/{reference}.md"
        )
        review(repo, "reject", reference, "--reason", "It repeats an earlier comment.")
        page = client.get(f"/intake/status/{reference}")
        assert "Not published" in page.text and "It repeats an earlier comment." in page.text
        assert client.get(f"/intake/status/{reference}", headers={"Accept": "application/json"}).json()["status"] == "closed"
        assert client.get("/intake/status/TH-ZZZZZ").status_code == 404
        assert client.get("/intake/healthz").json()["status"] == "ok"
    assert git(repo, "branch", "--list", "submissions/*") == ""


def test_review_explains_what_it_cannot_do(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSULT_INTAKE_DATA", str(tmp_path / "data"))
    result = CliRunner().invoke(main, ["--root", str(repo), "review", "accept", "TH-ZZZZZ"])
    assert result.exit_code == 1 and "no branch submissions/TH-ZZZZZ exists" in result.output
    result = CliRunner().invoke(main, ["--root", str(repo), "review", "show", "nonsense"])
    assert result.exit_code == 2 and "references look like TH-7QK2M" in result.output
    assert "Nothing is waiting for review." in CliRunner().invoke(main, ["--root", str(repo), "review", "list"]).output
