"""Cron exactly once across scheduler processes, and the rescue-versus-completion race."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from remotetask import App, Settings
from remotetask.jobs import COMPLETED, QUEUED, Outcome
from tests.faults.harness import query, spawn, stop, wait_for, worker_command
from tests.faults.worker_tasks import LEDGER, FileClock, register

pytestmark = pytest.mark.postgres
MINUTES = 1000


def test_three_schedulers_on_a_shared_simulated_clock_fire_each_minute_once(
    postgres_url: str, tmp_path: Path
) -> None:
    clock = FileClock(str(tmp_path / "clock"))
    start = 1_800_000_000.0 + 30  # half a minute past a whole minute
    clock.set(start)
    app = App(postgres_url, clock=clock, settings=Settings(auto_migrate=True))
    register(app)
    job_id = app.add_service("site1@S").add_cron_job("record", {"ms": 0}, cron="* * * * *")
    query(postgres_url, LEDGER)
    schedulers = spawn(
        worker_command(
            postgres_url, "--processes", "3", "--app", "tests.faults.worker_tasks:cron_app"
        ),
        tmp_path / "schedulers.log",
        lease=30.0,
        REMOTETASK_DATABASE=postgres_url,
        SIM_CLOCK=clock.path,
    )
    started = time.monotonic()
    try:
        wait_for(
            lambda: query(postgres_url, "SELECT next_call FROM jobs WHERE id = %s", (job_id,)),
            lambda rows: rows[0][0] is not None,
            30,
            "first pass scheduled the cron job",
        )
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            for minute in range(1, MINUTES + 1):
                clock.set(start + 60 * minute)
                # Wait for the run to be stored, not only for the task to end: a clock
                # moved 60 s on while the outcome is on its way expires its 30 s lease.
                wait_for(
                    lambda: conn.execute(
                        "SELECT count(*) FROM cron_runs WHERE ended IS NOT NULL"
                    ).fetchone(),
                    lambda row, m=minute: row is not None and row[0] >= m,  # type: ignore[misc]
                    30,
                    f"minute {minute} ran",
                )
        elapsed = time.monotonic() - started
    finally:
        stop(schedulers)
    runs, slots = query(
        postgres_url, "SELECT count(*), count(DISTINCT scheduled_for) FROM cron_runs"
    )[0]
    executions = query(postgres_url, "SELECT count(*) FROM ledger")[0][0]
    pids = query(postgres_url, "SELECT count(DISTINCT pid) FROM ledger")[0][0]
    attempts = query(postgres_url, "SELECT attempts FROM jobs WHERE id = %s", (job_id,))[0][0]
    print(
        f"\nC1: 3 scheduler processes, one '* * * * *' cron job, {MINUTES} simulated minutes "
        f"in {elapsed:.1f} s: runs {runs}, distinct slots {slots}, task executions "
        f"{executions}, by {pids} different processes; duplicates {executions - MINUTES}"
    )
    assert (runs, slots, executions, attempts) == (MINUTES, MINUTES, MINUTES, MINUTES)
    assert pids >= 2, "the schedulers really competed"
    app.close()


def test_rescue_never_overwrites_a_completion_racing_it(postgres_url: str) -> None:
    app = App(postgres_url, settings=Settings(auto_migrate=True))
    app.register("echo", lambda value: value)
    service = app.add_service("site1@S")
    store, now, iterations = app.store, time.time(), 1000
    service.add_many("echo", range(iterations))
    barrier = threading.Barrier(2)
    results: list[tuple[bool, bool]] = []
    current: dict[str, object] = {}

    def complete() -> None:
        for _ in range(iterations):
            barrier.wait(10)
            done = store.finish(current["id"], current["token"], Outcome(COMPLETED, "1"), now)  # type: ignore[arg-type]
            current["completed"] = done
            barrier.wait(10)

    completer = threading.Thread(target=complete)
    completer.start()
    overwrites = 0
    for _ in range(iterations):
        # The lease has already run out, so only the status and token guards stand
        # between the rescuer and a completion that commits at the same moment.
        (claim,) = store.claim(service.ref, now, 1, "w", now - 1)
        current.update(id=claim.job.id, token=claim.key)
        barrier.wait(10)
        rescue = Outcome(QUEUED, error="lost", next_call=now + 3600)
        rescued = store.finish(claim.job.id, claim.key, rescue, now, expired_only=True)
        barrier.wait(10)
        completed = bool(current["completed"])
        status = service.status(claim.job.id)
        results.append((completed, rescued))
        expected = COMPLETED if completed else QUEUED
        if completed == rescued or status != expected:
            overwrites += 1
    completer.join(30)
    wins = sum(1 for completed, _ in results if completed)
    print(
        f"\nE1: {iterations} rescue-vs-completion races on PostgreSQL: completions won {wins}, "
        f"rescues won {iterations - wins}, overwrites or double wins {overwrites}"
    )
    assert overwrites == 0
    app.close()
