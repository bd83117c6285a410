"""The ``health`` store verb: gauges about the database itself, on every backend."""

from __future__ import annotations

import psycopg

from remotetask import App, Settings, TaskService

POSTGRES_GAUGES = {
    "oldest_transaction_seconds",
    "oldest_transaction_xid_age",
    "jobs_dead_tuples",
    "jobs_live_tuples",
    "jobs_table_bytes",
}
SQLITE_GAUGES = {"database_bytes", "free_bytes", "wal_bytes"}


def test_health_names_the_backends_gauges(app: App, service: TaskService) -> None:
    service.add_many("echo", range(10))
    health = app.store.health()
    expected = POSTGRES_GAUGES if app.database.startswith("postgresql") else SQLITE_GAUGES
    assert set(health) == expected
    assert all(value >= 0 for value in health.values())
    size = health.get("jobs_table_bytes", health.get("database_bytes"))
    assert size is not None
    assert size > 0


def test_a_transaction_held_open_elsewhere_shows(postgres_url: str) -> None:
    """A foreign ``BEGIN; SELECT txid_current();`` holds back vacuum: the gauges show it."""
    app = App(postgres_url, settings=Settings(auto_migrate=True))
    app.register("echo", lambda value: value)
    service = app.add_service("site1@S")
    with psycopg.connect(postgres_url) as foreign:
        foreign.execute("SELECT txid_current()")  # psycopg opened a transaction: BEGIN
        for value in range(5):  # transactions that consume ids after the held one
            service.add("echo", value)
        held = app.store.health()
    app.close()
    assert held["oldest_transaction_seconds"] > 0
    assert held["oldest_transaction_xid_age"] >= 5
