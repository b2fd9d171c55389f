"""The intake's parts: moderation flags, the local git forge, the store's purge, rate limits and origins."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from intake.catalogue import load_catalogue
from intake.db import connect
from intake.forge.base import Proposal, ProposalState
from intake.forge.local import LocalGitForge
from intake.moderation import flags_for, nhs_number_valid
from intake.store import Store

from .conftest import IDEA, git, running_intake, wait_for


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    from tests.conftest import PROJECT

    return load_catalogue(PROJECT)


def codes(kind: str, fields: dict[str, str], catalogue) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f.code: f.detail for f in flags_for(kind, fields, catalogue)}


def test_nhs_numbers_are_checked_by_modulus_11() -> None:
    assert nhs_number_valid("9434765919")
    assert not nhs_number_valid("9434765918")
    assert not nhs_number_valid("123456789")


def test_each_flag_says_what_triggered_it(catalogue) -> None:  # type: ignore[no-untyped-def]
    base = {
        "title": "Better rotas for nurses",
        "idea": "Publish the rota six weeks ahead so staff can plan childcare and study days properly.",
        "name": "",
    }
    assert codes("idea", base, catalogue) == {}
    personal = codes(
        "idea", {**base, "idea": base["idea"] + " Email jo.bloggs@nhs.net or call 07700 900123. Patient 943 476 5919 lives at LS1 4AP."}, catalogue
    )["possible-personal-data"]
    assert (
        "email address" in personal
        and "phone number" in personal
        and "NHS number with a valid check digit" in personal
        and "postcode in ‘idea’ (LS1" in personal
    )
    assert "jo.bloggs@nhs.net" not in personal, "the flag describes personal data without repeating it"
    assert "NHS number" not in codes("idea", {**base, "idea": base["idea"] + " Ref 943 476 5918."}, catalogue).get("possible-personal-data", "")
    assert "‘shit’" in codes("idea", {**base, "idea": base["idea"] + " The old rota is shit."}, catalogue)["offensive-language"]
    assert "offensive-language" not in codes(
        "idea", {**base, "idea": "Scunthorpe staff need a class on assessment of grass cuttings near the car park."}, catalogue
    )
    assert "‘title’" in codes("idea", {**base, "title": "FIX THE ROTA NOW PLEASE"}, catalogue)["all-capitals"]
    assert "has 3 words" in codes("idea", {**base, "idea": "Fix the rota."}, catalogue)["very-short"]
    flags = {
        f.code: f
        for f in flags_for(
            "idea",
            {
                **base,
                "title": "Hot food for staff working nights",
                "idea": "Hot food for staff working nights: keep the canteen open at night or give us a hot food vending machine for night shifts.",
            },
            catalogue,
        )
    }
    duplicate = flags["possible-duplicate"]
    assert (
        "Hot food for staff working nights" in duplicate.detail
        and ("Hot food for staff working nights", "/ideas/hot-food-for-staff-working-nights/") in duplicate.links
    )


def proposal(reference: str, path: str = "content/ideas/getting-the-basics-right/new-idea.md") -> Proposal:
    return Proposal(reference, "idea", path, "---\ntitle: New idea\n---\nText.\n", "Idea: New idea", "getting-the-basics-right")


def test_the_forge_never_touches_the_working_tree(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "editing")
    (repo / "scratch.txt").write_text("uncommitted work\n")
    before = (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), (repo / ".git" / "index").read_bytes())
    forge = LocalGitForge(repo)
    assert forge.state("TH-AAAAA") == ProposalState.MISSING
    assert forge.propose(proposal("TH-AAAAA")) == "submissions/TH-AAAAA"
    first = git(repo, "rev-parse", "submissions/TH-AAAAA")
    assert forge.propose(proposal("TH-AAAAA")) == "submissions/TH-AAAAA", "proposing again changes nothing"
    assert git(repo, "rev-parse", "submissions/TH-AAAAA") == first
    assert forge.state("TH-AAAAA") == ProposalState.OPEN
    assert (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), (repo / ".git" / "index").read_bytes()) == before
    # Accept while main is not checked out anywhere: a merge commit made with plumbing.
    forge.accept("TH-AAAAA")
    assert forge.state("TH-AAAAA") == ProposalState.MERGED
    assert git(repo, "show", "main:content/ideas/getting-the-basics-right/new-idea.md").startswith("---")
    assert git(repo, "rev-parse", "HEAD") == before[0] and git(repo, "status", "--porcelain") == before[1]
    assert forge.propose(proposal("TH-AAAAA")) == "submissions/TH-AAAAA" and git(repo, "branch", "--list", "submissions/*") == "", (
        "an accepted proposal is not made again"
    )
    forge.propose(proposal("TH-BBBBB", "content/ideas/getting-the-basics-right/other.md"))
    forge.reject("TH-BBBBB", "It names a colleague.")
    assert forge.state("TH-BBBBB") == ProposalState.CLOSED and forge.public_reason("TH-BBBBB") == "It names a colleague."
    forge.propose(proposal("TH-BBBBB"))
    assert git(repo, "branch", "--list", "submissions/*") == "", "a rejected proposal is not made again"


def test_many_proposals_in_one_go_are_each_one_commit(repo: Path) -> None:
    forge = LocalGitForge(repo)
    forge.propose(proposal("TH-CCCC0", "content/ideas/getting-the-basics-right/c0.md"))
    batch = [proposal(f"TH-CCCC{i}", f"content/ideas/getting-the-basics-right/c{i}.md") for i in range(5)]
    assert forge.propose_many(batch) == {p.reference: p.branch for p in batch}
    for p in batch:
        assert git(repo, "rev-list", "--count", f"main..{p.branch}") == "1"
        assert git(repo, "diff", "--name-only", "main", p.branch) == p.path


def test_purge_deletes_contact_details_past_retention(tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("CONSULT_INTAKE_DATA", str(data))
    monkeypatch.setenv("CONSULT_INTAKE_DATABASE_URL", database_url)
    store = Store(data / "intake.sqlite3", db=connect(database_url, data / "intake.sqlite3"))
    fields = {k: v for k, v in IDEA.items() if k not in ("email", "notify", "consent", "website")}
    old, new = store.add_now("idea", fields, "old@example.org"), store.add_now("idea", fields, "new@example.org")
    with store.transaction() as conn:
        conn.execute(
            "UPDATE submissions SET received_at = ?, state = 'merged' WHERE reference = ?",
            ((dt.datetime.now(dt.UTC) - dt.timedelta(days=91)).isoformat(), old),
        )
    result = CliRunner().invoke(main, ["--root", str(repo), "intake", "purge", "--older-than", "90d"])
    assert result.exit_code == 0, result.output
    assert "contact details of 1 submission" in result.output
    rows = {row["reference"]: row["email"] for row in store.conn.execute("SELECT reference, email FROM submissions").fetchall()}
    assert rows == {old: None, new: "new@example.org"}
    assert store.get(old).state == "merged" and store.get(old).fields is None, "the status stays, the text goes"
    if not database_url:  # PostgreSQL's old row versions go with (auto)vacuum: see the handbook's page on the database
        raw = b"".join(p.read_bytes() for p in data.iterdir() if p.is_file())
        assert b"old@example.org" not in raw, "secure_delete and a checkpoint leave no copy in the files"
    store.close()
    assert CliRunner().invoke(main, ["--root", str(repo), "intake", "purge", "--older-than", "soon"]).exit_code == 2


def test_rate_limit_and_origins(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    with (
        running_intake(
            repo, site_dir, tmp_path / "data", run_worker=False, CONSULT_INTAKE_RATE_LIMIT="3/60", CONSULT_INTAKE_ORIGINS="https://staging.example"
        ) as running,
        running.client() as client,
    ):
        assert client.post("/ideas", json=IDEA, headers={"Origin": "https://staging.example"}).status_code == 202
        assert client.post("/ideas", json=IDEA, headers={"Origin": running.url}).status_code == 202
        assert client.post("/ideas", json=IDEA, headers={"Origin": "http://localhost:8000"}).status_code == 202, "site.yml base_url"
        limited = client.post("/ideas", data=IDEA)
        assert limited.status_code == 429 and "Wait a minute" in limited.text
        assert 'value="Water fountains on every ward corridor"' in limited.text, "the form comes back filled in"
        assert client.get("/healthz").json()["submissions"] == {"received": 3}


def test_worker_retries_with_back_off_until_the_forge_works(repo: Path, site_dir: Path, tmp_path: Path) -> None:
    git(repo, "branch", "-m", "main", "trunk")  # the forge cannot find its main branch: every try fails
    with running_intake(repo, site_dir, tmp_path / "data") as running:
        with running.client() as client:
            reference = client.post("/ideas", json=IDEA).json()["reference"]
        store = running.app.state.intake.store  # type: ignore[attr-defined]
        wait_for(lambda: store.get(reference).attempts >= 2)
        assert "no branch 'main'" in store.get(reference).last_error
        git(repo, "branch", "-m", "trunk", "main")
        wait_for(lambda: store.get(reference).state == "proposed", timeout=60)
    assert git(repo, "branch", "--list", f"submissions/{reference}")
