"""SQLite's claim commits without waiting for its fsync; every other write stays FULL."""

from __future__ import annotations

from pathlib import Path

import pytest

from remotetask.errors import UnknownServiceError
from remotetask.jobs import QUEUED
from remotetask.refs import ServiceRef
from remotetask.store.base import NewJob
from remotetask.store.sqlite import SQLiteStore

REF = ServiceRef("site1", "S")


def synchronous(store: SQLiteStore) -> int:
    return int(store._connection().execute("PRAGMA synchronous").fetchone()[0])


def test_only_the_claim_s_transaction_runs_with_normal_sync(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "jobs.db"))
    store.ensure_service(REF)
    store.insert_jobs(REF, [NewJob("echo", "1", QUEUED)], 1000.0)
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    (claim,) = store.claim(REF, 1000.0, 1, "w", 1030.0)
    store.insert_jobs(REF, [NewJob("echo", "2", QUEUED)], 1000.0)
    store._connection().set_trace_callback(None)
    modes = [s for s in statements if s.startswith(("PRAGMA", "BEGIN", "COMMIT", "INSERT"))]
    assert [m.split(" (")[0] for m in modes] == [
        "PRAGMA synchronous=NORMAL",
        "BEGIN IMMEDIATE",
        "COMMIT",
        "PRAGMA synchronous=FULL",
        "BEGIN IMMEDIATE",
        "INSERT INTO jobs",
        "COMMIT",
    ]
    assert claim.job.input == 1
    assert synchronous(store) == 2
    store.close()


def test_a_failed_claim_leaves_the_connection_fully_synchronous(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "jobs.db"))
    with pytest.raises(UnknownServiceError):
        store.claim(ServiceRef("site1", "Missing"), 1000.0, 1, "w", 1030.0)
    assert synchronous(store) == 2
    store.close()
