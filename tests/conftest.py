"""Shared fixtures: they build on each other (sample repo → built site)."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.build import BuildResult, build
from intake.db import connect
from intake.store import Store
from tests import engine
from tests.postgres import PostgresCluster

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_PARTS = ("site.yml", "challenges", "content")
BUILD_NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
"""A fixed 'now' so upcoming/past events are stable whatever day the tests run."""


def copy_sample(target: Path) -> Path:
    """A copy of the sample content (site.yml, challenges/, content/) in target."""
    target.mkdir(parents=True, exist_ok=True)
    for part in SAMPLE_PARTS:
        source = PROJECT / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            shutil.copy2(source, target / part)
    return target


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """A private, writable copy of the sample content for one test."""
    return copy_sample(tmp_path / "repo")


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Set the product's clock (CONSULT_NOW) for one test: `set_clock("2029-03-01")` or `set_clock("+730d")`."""
    from generator.clock import Clock

    def set_(moment: str) -> Clock:
        monkeypatch.setenv("CONSULT_NOW", moment)
        return Clock.from_environment()

    return set_


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The sample site built once per test session (read-only for tests)."""
    root = copy_sample(tmp_path_factory.mktemp("sample") / "repo")
    return build(root, root.parent / "_site", now=BUILD_NOW)


@pytest.fixture(scope="session")
def site_dir(built_sample: BuildResult) -> Path:
    return built_sample.output


@pytest.fixture(scope="session")
def playwright_driver():
    """The one Playwright driver of the session: its sync API allows only one at a time, so every browser test shares it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster for the session (tests/postgres.py), started on first use, destroyed at the end."""
    cluster = PostgresCluster.create()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def postgres_database(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """The URL of a fresh, empty database of its own for one test, dropped after it."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    if postgres_cluster.pid() is None:  # a test before this one stopped or killed the server
        postgres_cluster.start()
    url = postgres_cluster.create_database(name)
    try:
        yield url
    finally:
        if postgres_cluster.pid() is None:
            postgres_cluster.start()
        postgres_cluster.drop_database(name)


@pytest.fixture(autouse=True)
def intake_engine(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a run with CONSULT_TEST_INTAKE_DATABASE=postgresql, each test's intakes store in a database of its own."""
    if engine.chosen() != "postgresql":
        yield
        return
    engine.current_url = str(request.getfixturevalue("postgres_database"))
    try:
        yield
    finally:
        engine.current_url = ""


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each store-level test once per engine: '' (the SQLite file in the data folder), then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def make_store(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """Opens stores on the test's engine (`database_url`): `make_store()` or `make_store(path, clock=…)`. A second
    call is a second process's view of the same data (SQLite: the same file; PostgreSQL: the same database).
    Every store opened is closed after the test."""
    opened: list[Store] = []

    def make(path: Path | None = None, **kwargs: Any) -> Store:
        path = path or tmp_path / "intake.sqlite3"
        store = Store(path, db=connect(database_url, path), **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    """One store on the test's engine (parametrised over SQLite and PostgreSQL by `database_url`)."""
    return make_store()


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The content files parsed from here on, in this process (the sample site is small enough not to fork)."""
    from generator import loader

    seen: list[str] = []
    real = loader.load_entry

    def spy(root: Path, kind: str, path: Path, model: Any) -> Any:
        seen.append(path.relative_to(root).as_posix())
        return real(root, kind, path, model)

    monkeypatch.setattr(loader, "load_entry", spy)
    return seen
