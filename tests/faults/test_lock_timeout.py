"""A table lock held by someone else: writes fail fast with StoreError, workers carry on."""

from __future__ import annotations

import time

import psycopg
import pytest

from remotetask import App, Settings, StoreError
from remotetask.jobs import COMPLETED
from remotetask.store.postgres import LOCK_TIMEOUT_MS
from tests.faults.harness import wait_for

pytestmark = pytest.mark.postgres


def test_a_locked_jobs_table_times_out_and_processing_resumes(postgres_url: str) -> None:
    app = App(postgres_url, settings=Settings(auto_migrate=True, wait_time=0.1))
    app.register("echo", lambda value: value)
    service = app.add_service("site1@S")
    service.start_processing()
    first = service.add("echo", 1)
    wait_for(lambda: service.status(first), lambda s: s == COMPLETED, 10, "first job done")
    with psycopg.connect(postgres_url) as blocker:
        blocker.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(StoreError, match="lock timeout"):
            service.add("echo", 2)
        waited = time.monotonic() - started
        assert service.is_processing(), "the processing thread survived its failed passes"
        blocker.rollback()
    second = service.add("echo", 3)
    wait_for(lambda: service.status(second), lambda s: s == COMPLETED, 15, "processing resumed")
    print(f"\nD5: jobs table locked: add failed after {waited:.1f} s; resumed after release")
    assert LOCK_TIMEOUT_MS / 1000 - 0.5 < waited < LOCK_TIMEOUT_MS / 1000 + 3
    app.close()
