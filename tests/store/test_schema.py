"""Schema handling, once for every SQL backend: migrate, refuse, report.

``SqlStore.migrate``/``schema_version`` are one template over two dialect hooks,
so the same refusals and the same once-only migration hold on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging

import pytest

from remotetask.errors import SchemaError
from remotetask.store import Store, open_store
from tests.store.test_contract import race


@pytest.fixture
def url(reopenable_url: str) -> str:
    return reopenable_url


def execute(store: Store, *statements: str) -> None:
    """Run raw statements in one write transaction, as another program would."""
    with store._tx(write=True) as cur:  # type: ignore[attr-defined]
        for statement in statements:
            cur.execute(statement)


def test_a_database_holding_other_tables_is_refused_untouched(url: str) -> None:
    raw = open_store(url, verify=False)
    execute(raw, "CREATE TABLE customers (id INTEGER)")
    with pytest.raises(SchemaError, match="holds tables that are not remotetask's"):
        open_store(url, auto_migrate=True)
    with pytest.raises(SchemaError, match="not remotetask's"):
        raw.migrate()
    raw.close()


def test_an_empty_schema_version_table_is_refused_as_damaged(url: str) -> None:
    open_store(url, auto_migrate=True).close()
    raw = open_store(url, verify=False)
    execute(raw, "DELETE FROM schema_version")
    raw.close()
    with pytest.raises(SchemaError, match="schema_version table is empty; the database is damaged"):
        open_store(url, auto_migrate=True)


def test_a_version_table_at_zero_is_migrated_from_the_start(url: str) -> None:
    raw = open_store(url, verify=False)
    execute(
        raw,
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version (version) VALUES (0)",
    )
    with pytest.raises(SchemaError, match="run `remotetask migrate`"):
        open_store(url, auto_migrate=False)
    assert raw.migrate() == raw.latest_schema_version()
    assert raw.schema_version() == raw.latest_schema_version()
    raw.close()


def test_applied_migrations_are_logged_once(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="remotetask")
    store = open_store(url, auto_migrate=True)
    latest = store.latest_schema_version()
    assert store.migrate() == 0
    store.close()
    applied = [r.getMessage() for r in caplog.records if "migration" in r.getMessage()]
    assert len(applied) == 1
    assert applied[0].endswith(f": applied {latest} migration(s)")


def test_concurrent_migrations_of_an_empty_database_apply_once(url: str) -> None:
    stores = [open_store(url, verify=False) for _ in range(5)]
    applied: list[int] = []
    race(5, lambda i: applied.append(stores[i].migrate()))
    for store in stores:
        store.close()
    latest = stores[0].latest_schema_version()
    assert sorted(applied) == [0, 0, 0, 0, latest]
    check = open_store(url, auto_migrate=False)
    assert check.schema_version() == latest
    check.close()
