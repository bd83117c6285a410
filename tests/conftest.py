"""Shared fixtures: a fresh database per test, on every backend the machine has.

``database_url`` runs a test once per backend: a SQLite file, in-memory
SQLite, and PostgreSQL when ``REMOTETASK_TEST_POSTGRES_URL`` is set. Without
it the PostgreSQL case skips with that reason locally; CI sets it and fails
if the server does not answer.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import remotetask

POSTGRES_URL = os.environ.get("REMOTETASK_TEST_POSTGRES_URL")
BACKENDS = ["sqlite-file", "sqlite-memory", "postgresql"]


@pytest.fixture(scope="session", autouse=True)
def _sweep_postgres_schemas() -> None:
    """Drop test schemas that killed runs left behind (never those of a live run)."""
    if POSTGRES_URL:
        from tests.pg import sweep_stale_schemas

        sweep_stale_schemas(POSTGRES_URL)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of an empty PostgreSQL schema, dropped after the test."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need REMOTETASK_TEST_POSTGRES_URL")
    from tests.pg import drop_schema, fresh_schema, schema_url

    schema = fresh_schema(POSTGRES_URL)
    yield schema_url(POSTGRES_URL, schema)
    drop_schema(POSTGRES_URL, schema)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database, once per backend."""
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    if request.param == "sqlite-memory":
        return "sqlite://"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=["sqlite-file", "postgresql"])
def reopenable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database that can be opened twice (so not the in-memory one)."""
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    postgres: str = request.getfixturevalue("postgres_url")
    return postgres


@pytest.fixture
def file_url(tmp_path: Path) -> str:
    """A SQLite file URL, for tests about files, processes or the CLI."""
    return f"sqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture
def clock() -> remotetask.FrozenClock:
    return remotetask.FrozenClock(1_000_000.0)


@pytest.fixture
def app(database_url: str, clock: remotetask.FrozenClock) -> Iterator[remotetask.App]:
    """An App with the echo/counter/error tasks of the original's README, on each backend."""
    application = remotetask.App(
        database_url, clock=clock, settings=remotetask.Settings(auto_migrate=True)
    )
    register_seed_tasks(application)
    yield application
    application.close()


def register_seed_tasks(app: remotetask.App) -> None:
    calls = {"count": 0}

    @app.task
    def echo(input: object) -> object:
        return input

    @app.task
    def error(input: object) -> None:
        raise remotetask.TaskError("An error occurred.")

    @app.task(name="counter")
    def counting(input: object) -> int:
        calls["count"] += 1
        return calls["count"]


@pytest.fixture
def service(app: remotetask.App) -> remotetask.TaskService:
    return app.add_service("site1@TestTaskService1")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs to fill up (mounting needs root, as in CI; skipped otherwise)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)
