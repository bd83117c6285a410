"""SQLite files that are not ours, damaged or newer are refused, never overwritten."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import remotetask
from remotetask.jobs import JobQuery
from remotetask.store import open_store
from remotetask.store.migrate import latest_version


def test_a_new_file_gets_the_latest_schema_with_durable_settings(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    store = open_store(f"sqlite:///{path}")
    assert store.schema_version() == latest_version("sqlite")
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    open_store(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 999")
    conn.commit()
    conn.close()
    with pytest.raises(remotetask.SchemaError, match="newer than this remotetask knows"):
        open_store(f"sqlite:///{path}")


def test_an_older_database_needs_migrate_when_auto_migrate_is_off(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (0)")
    conn.commit()
    conn.close()
    with pytest.raises(remotetask.SchemaError, match="run `remotetask migrate`"):
        open_store(f"sqlite:///{path}", auto_migrate=False)
    store = open_store(f"sqlite:///{path}", verify=False)
    assert store.migrate() == latest_version("sqlite")
    store.close()
    assert _journal_mode(path) == "wal"  # once migrated, the file is ours


def test_random_bytes_are_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    with pytest.raises(remotetask.SchemaError, match="not a database"):
        open_store(f"sqlite:///{path}")
    assert path.read_bytes() == garbage


def test_a_truncated_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    app = remotetask.App(f"sqlite:///{path}")
    app.register("echo", lambda input: input)
    app.add_service("s@S").add_many("echo", range(500))
    app.close()
    data = path.read_bytes()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(remotetask.StoreError):
        read_all_jobs(f"sqlite:///{path}")


def read_all_jobs(url: str) -> None:
    store = open_store(url)
    store.list_jobs(remotetask.ServiceRef("s", "S"), JobQuery(limit=1000))


def test_a_database_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(remotetask.SchemaError, match="not remotetask's"):
        open_store(f"sqlite:///{path}")


def _rollback_journal_database(path: Path, *statements: str) -> bytes:
    """A database file in SQLite's default journal mode after ``statements``; its bytes."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path.read_bytes()


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def _migrate(url: str) -> None:
    """What `remotetask migrate` does."""
    store = open_store(url, verify=False)
    try:
        store.migrate()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("statements", "refusal"),
    [
        (("CREATE TABLE customers (id INTEGER)",), "not remotetask's"),
        (
            (
                "CREATE TABLE schema_version (version INTEGER NOT NULL)",
                "INSERT INTO schema_version VALUES (999)",
            ),
            "newer than this remotetask knows",
        ),
    ],
    ids=["another-application", "newer-schema"],
)
@pytest.mark.parametrize("refuse", [open_store, _migrate], ids=["open", "migrate"])
def test_a_refused_file_is_left_exactly_as_it_was(
    tmp_path: Path, statements: tuple[str, ...], refusal: str, refuse: Callable[[str], object]
) -> None:
    path = tmp_path / "refused.db"
    before = _rollback_journal_database(path, *statements)
    with pytest.raises(remotetask.SchemaError, match=refusal):
        refuse(f"sqlite:///{path}")
    assert _journal_mode(path) == "delete"
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_bad_urls_are_configuration_errors() -> None:
    for url in ("mysql://x", "sqlite:relative.db", "nonsense"):
        with pytest.raises(remotetask.ConfigError):
            open_store(url)


def test_a_change_the_database_refuses_is_not_reported_as_a_damaged_file(tmp_path: Path) -> None:
    """A constraint or a trigger that refuses a write is an error of that write: the file is
    fine, and calling it damaged (a SchemaError) would send an operator after the wrong thing."""
    path = tmp_path / "jobs.db"
    app = remotetask.App(f"sqlite:///{path}")
    app.register("echo", lambda value: value)
    service = app.add_service("s@S")
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TRIGGER no_more_jobs BEFORE INSERT ON jobs "
        "BEGIN SELECT RAISE(ABORT, 'jobs are frozen here'); END"
    )
    conn.commit()
    conn.close()
    with pytest.raises(remotetask.StoreError) as refused:
        service.add("echo", 1)
    assert not isinstance(refused.value, remotetask.SchemaError)
    assert "jobs are frozen here" in str(refused.value)
    assert "damaged" not in str(refused.value)
    app.close()
