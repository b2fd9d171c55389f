"""Which engine the intake's tests store submissions in: SQLite (the default), or PostgreSQL for the whole run.

With `CONSULT_TEST_INTAKE_DATABASE=postgresql` (as `make test` runs tests/intake and tests/github a second time),
every intake the tests configure through `intake_env` gets a fresh PostgreSQL database of its own test
(`postgres_database` in tests/conftest.py), so every intake and GitHub test runs against both stores.
"""

from __future__ import annotations

import os

VARIABLE = "CONSULT_TEST_INTAKE_DATABASE"
ENGINES = ("sqlite", "postgresql")


def chosen() -> str:
    """The engine the run asked for; a value other than the two is an error that names them."""
    engine = os.environ.get(VARIABLE, "sqlite").strip().lower() or "sqlite"
    if engine not in ENGINES:
        raise RuntimeError(f"{VARIABLE}={engine!r}: expected one of {', '.join(ENGINES)}")
    return engine


current_url = ""
"""The PostgreSQL database of the running test when the run uses PostgreSQL, else ''."""
