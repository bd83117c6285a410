"""PostgreSQL takes two group commits of a multi-threaded processor at once."""

from __future__ import annotations

import threading

import psycopg

import remotetask
from remotetask import COMPLETED, PROCESSING, MultiProcessor, Settings
from remotetask.processing import CLAIM_AHEAD, COMMIT_BATCH
from tests.waiting import wait_until


def test_a_commit_held_up_by_the_server_does_not_hold_up_the_next_one(
    postgres_url: str,
) -> None:
    app = remotetask.App(postgres_url, settings=Settings(auto_migrate=True))
    service = app.add_service("@Lanes")
    gates = {"first": threading.Event(), "second": threading.Event()}

    @app.task
    def gated(input: object) -> str:
        gates[str(input)].wait(10)
        return str(input)

    first, second = service.add("gated", "first"), service.add("gated", "second")
    service.start_processing(MultiProcessor(2))
    locker = psycopg.connect(postgres_url)
    try:
        wait_until(lambda: service.status(first) == service.status(second) == "processing")
        # Hold the first job's row: storing its outcome waits for this transaction.
        locker.execute("SELECT 1 FROM jobs WHERE id = %s FOR UPDATE", (first,))
        gates["first"].set()
        wait_until(lambda: _waiting_on_lock(postgres_url), what="the first commit waiting")
        gates["second"].set()
        wait_until(lambda: service.status(second) == "completed", timeout=3)
        assert service.status(first) == "processing"
    finally:
        locker.rollback()
        locker.close()
        gates["first"].set()
        gates["second"].set()
    wait_until(lambda: service.status(first) == "completed")
    app.close()


def _waiting_on_lock(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND query LIKE '%json_array_elements%'"
        ).fetchone()
    return row is not None and row[0] > 0


def test_claims_of_both_lanes_together_keep_to_the_claim_ahead_bound(postgres_url: str) -> None:
    """Every job claimed and not yet stored is ``processing``: never more than the bound.

    On PostgreSQL a commit's claim runs beside its store, so for that moment the jobs of
    the group being stored are counted too (docs/reliability.md).
    """
    app = remotetask.App(postgres_url, settings=Settings(auto_migrate=True))
    app.register("noop", lambda _input: None)
    service = app.add_service("@Bound")
    total = 4000
    for start in range(0, total, 1000):
        service.add_many("noop", list(range(start, start + 1000)))
    bound = 2 + CLAIM_AHEAD + COMMIT_BATCH
    seen: list[int] = []
    service.start_processing(MultiProcessor(2))
    while (counts := service.counts()).get(COMPLETED, 0) < total:
        seen.append(counts.get(PROCESSING, 0))
    app.close()
    assert max(seen) <= bound
    assert max(seen) > 2  # it did claim ahead
