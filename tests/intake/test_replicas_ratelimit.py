"""The shared rate limit: replicas on one database count one client's posts together (intake/ratelimit.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from intake.ratelimit import RateLimiter, SharedRateLimiter
from intake.store import Store
from tests.conftest import BUILD_NOW
from tests.postgres import PostgresCluster

from .conftest import IDEA, running_intake

MakeStore = Callable[..., Store]


def test_two_limiters_on_one_database_share_each_clients_budget(make_store: MakeStore) -> None:
    first, second = (SharedRateLimiter(make_store(), "idea", b"secret", 6, 60) for _ in range(2))
    answers = [(first if n % 2 else second).wait_for("198.51.100.7") for n in range(8)]
    assert answers[:6] == [0] * 6, "a burst of six, wherever the posts land"
    assert all(1 <= wait <= 10 for wait in answers[6:]), f"then one every 10 seconds, for both: {answers}"
    assert first.wait_for("203.0.113.1") == 0, "another client has its own bucket"
    assert SharedRateLimiter(first.store, "comment", b"secret", 6, 60).wait_for("198.51.100.7") == 0, "and each kind its own"


def test_the_shared_limiter_answers_as_the_memory_one(make_store: MakeStore) -> None:
    shared, memory = SharedRateLimiter(make_store(), "idea", b"k", 3, 3), RateLimiter(b"k", 3, 3)
    for limiter in (shared, memory):
        assert [limiter.wait_for("a") for _ in range(4)] == [0, 0, 0, 1]
        time.sleep(1.05)  # one token back (3 per 3 seconds)
        assert [limiter.wait_for("a"), limiter.wait_for("a")] == [0, 1]


def test_no_address_is_kept_and_full_buckets_are_swept(make_store: MakeStore) -> None:
    store = make_store()
    limiter = SharedRateLimiter(store, "lookup", b"k", 5, 0.2)
    for n in range(3):
        limiter.wait_for(f"192.0.2.{n}")
    with store.db.read() as conn:
        rows = conn.execute("SELECT client FROM rate_buckets").fetchall()
    assert len(rows) == 3 and not any("192.0.2" in row["client"] for row in rows)
    assert all(len(row["client"]) == 64 for row in rows), "the HMAC, as hex"
    time.sleep(0.3)  # longer than the window: every bucket is full again
    assert limiter.sweep() == 3
    assert limiter.wait_for("192.0.2.0") == 0


def test_two_intakes_on_one_postgresql_database_share_one_clients_budget(repo: Path, site_dir: Path, tmp_path: Path, postgres_database: str) -> None:
    env = {"CONSULT_INTAKE_DATABASE_URL": postgres_database, "CONSULT_INTAKE_RATE_LIMIT_IDEAS": "4/3600"}
    with (
        running_intake(repo, site_dir, tmp_path / "one", run_worker=False, **env) as one,
        running_intake(repo, site_dir, tmp_path / "two", run_worker=False, **env) as two,
        one.client() as first,
        two.client() as second,
    ):
        statuses = [(first if n % 2 else second).post("/ideas", json=IDEA).status_code for n in range(6)]
        refused = first.post("/ideas", data=IDEA)
    assert statuses == [202, 202, 202, 202, 429, 429], "four in all, not four on each replica"
    assert refused.status_code == 429 and "Wait" in refused.text and int(refused.headers["retry-after"]) > 0
    assert "Water fountains on every ward corridor" in refused.text, "the form comes back with what was typed"


def test_with_the_database_down_a_limited_post_still_gets_its_form_back(
    repo: Path, site_dir: Path, tmp_path: Path, postgres_cluster: PostgresCluster, postgres_database: str
) -> None:
    env = {
        "CONSULT_NOW": BUILD_NOW.isoformat(),
        "CONSULT_INTAKE_DATABASE_URL": postgres_database,
        "CONSULT_INTAKE_DATABASE_TIMEOUT": "1",
        "CONSULT_INTAKE_RATE_LIMIT_IDEAS": "30/60",
    }
    with running_intake(repo, site_dir, tmp_path / "data", run_worker=False, **env) as running, running.client() as client:
        assert client.post("/ideas", data=IDEA).status_code == 303
        postgres_cluster.stop()
        try:
            answer = client.post("/ideas", data={**IDEA, "title": "Typed while the database was down"})
        finally:
            postgres_cluster.start()
        assert client.post("/ideas", data=IDEA).status_code == 303, "the limiter reconnects with the store"
    assert answer.status_code == 503 and "could not save what you sent" in answer.text
    assert 'value="Typed while the database was down"' in answer.text, "the form comes back with what was typed"
