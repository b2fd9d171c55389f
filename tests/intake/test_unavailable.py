"""PostgreSQL unreachable while the intake runs: a post gets a 503 with the form filled back in and nothing
acknowledged; a status page a 503 too, never a 500; once the database is back, everything works again."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from tests.conftest import BUILD_NOW
from tests.postgres import PostgresCluster

from .conftest import IDEA, running_intake

TYPED = "Typed while the database was down"


def test_a_post_while_postgresql_is_down_gets_a_503_and_keeps_what_was_typed(
    repo: Path, site_dir: Path, tmp_path: Path, postgres_cluster: PostgresCluster, postgres_database: str
) -> None:
    env = {"CONSULT_NOW": BUILD_NOW.isoformat(), "CONSULT_INTAKE_DATABASE_URL": postgres_database, "CONSULT_INTAKE_DATABASE_TIMEOUT": "1"}
    with running_intake(repo, site_dir, tmp_path / "data", run_worker=False, **env) as running, running.client() as client:
        stored = client.post("/ideas", data=IDEA)
        assert stored.status_code == 303
        reference = stored.headers["location"].rsplit("/", 1)[1]
        postgres_cluster.stop()
        try:
            answer = client.post("/ideas", data={**IDEA, "title": TYPED})
            assert answer.status_code == 503 and answer.headers["retry-after"] == "120"
            page = BeautifulSoup(answer.text, "html.parser")
            summary = page.select_one(".nhsuk-error-summary")
            assert summary is not None and "There is a problem" in summary.get_text()
            text = " ".join(summary.get_text().split())
            assert "could not save what you sent" in text and "Nothing was kept" in text and "try again in a few minutes" in text
            title = page.select_one("input[name=title]")
            assert title is not None and title["value"] == TYPED, "the form comes back with what the person typed"
            assert page.select_one("textarea[name=idea]").get_text() == IDEA["idea"]  # type: ignore[union-attr]
            assert "TH-" not in answer.text and "location" not in answer.headers, "no reference: nothing was acknowledged"

            as_json = client.post("/ideas", json={**IDEA, "title": TYPED})
            assert as_json.status_code == 503 and as_json.headers["retry-after"] == "120" and "reference" not in as_json.json()

            status = client.get(f"/status/{reference}")
            assert status.status_code == 503 and status.headers["retry-after"] == "120"
            assert "Sorry, there is a problem with the service" in status.text and "try again in a few minutes" in status.text
            assert client.get(f"/status/{reference}", headers={"Accept": "application/json"}).status_code == 503
            assert client.get("/healthz").status_code == 503
        finally:
            postgres_cluster.start()
        assert client.get(f"/status/{reference}").status_code == 200, "the pool reconnects on its own"
        again = client.post("/ideas", data={**IDEA, "title": TYPED})
        assert again.status_code == 303
        store = running.app.state.intake.store  # type: ignore[attr-defined]
        assert store.counts() == {"received": 2}, "only what was acknowledged is stored"
        assert sorted(record.fields["title"] for record in store.in_state("received")) == sorted([IDEA["title"], TYPED])
