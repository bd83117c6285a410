"""Tasks the fault tests' worker processes run (``--tasks tests.faults.worker_tasks``).

``record`` writes each attempt's start and end to a ``ledger`` table next to
the jobs, so the test can see two live attempts of one job at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

import remotetask
from remotetask import App, Settings
from remotetask.clock import Clock

_local = threading.local()
log = logging.getLogger("tests.faults")

LEDGER = (
    "CREATE TABLE IF NOT EXISTS ledger (id BIGSERIAL PRIMARY KEY, job_id BIGINT NOT NULL, "
    "attempt INTEGER NOT NULL, pid INTEGER NOT NULL, t_start DOUBLE PRECISION NOT NULL, "
    "t_end DOUBLE PRECISION)"
)


def _ledger(url: str) -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(url, autocommit=True)
        _local.conn = conn
    return conn


def register(app: App) -> None:
    @app.task(context=True)
    def record(ctx: remotetask.JobContext, input: dict[str, Any]) -> dict[str, int]:
        conn = _ledger(ctx.service.app.database)
        row = conn.execute(
            "INSERT INTO ledger (job_id, attempt, pid, t_start) VALUES (%s, %s, %s, %s) "
            "RETURNING id",
            (ctx.job_id, ctx.attempt, os.getpid(), time.time()),
        ).fetchone()
        assert row is not None
        ms = input.get("first_ms", input.get("ms", 0)) if ctx.attempt == 1 else input.get("ms", 0)
        if input.get("cooperative"):
            _sleep_unless_cancelled(ctx, ms / 1000)
        else:
            time.sleep(ms / 1000)
        conn.execute("UPDATE ledger SET t_end = %s WHERE id = %s", (time.time(), row[0]))
        return {"attempt": ctx.attempt, "pid": os.getpid()}

    @app.task
    def nap(ms: float) -> float:
        time.sleep(ms / 1000)
        return ms


def _sleep_unless_cancelled(ctx: remotetask.JobContext, seconds: float) -> None:
    """Sleep like a cooperative task: in short steps, returning once ``ctx.cancelled()``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ctx.cancelled():
            log.warning("record: job %s attempt %s stopped: cancelled", ctx.job_id, ctx.attempt)
            return
        time.sleep(0.05)


class FileClock:
    """A simulated clock shared by processes: the time is the number in a file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def now(self) -> float:
        with open(self.path, encoding="ascii") as handle:
            return float(handle.read())

    def set(self, when: float) -> None:
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="ascii") as handle:
            handle.write(repr(when))
        os.replace(tmp, self.path)


class FastClock:
    """Simulated time running ``factor`` times the wall clock, from ``start`` at ``origin``.

    Every process given the same three numbers reads the same time, as machines
    with synchronised clocks would.
    """

    def __init__(self, origin: float, start: float, factor: float) -> None:
        self.origin, self.start, self.factor = origin, start, factor

    def now(self) -> float:
        return self.start + (time.time() - self.origin) * self.factor


def __getattr__(name: str) -> App:
    """An App polling every 10 ms on a simulated clock shared by the test's processes.

    ``cron_app`` reads the time from the file ``$SIM_CLOCK``; ``fast_cron_app`` runs
    ``FastClock(*$SIM_FAST)`` (three comma-separated numbers). Their tasks come from
    ``--tasks tests.faults.worker_tasks`` like the other workers'.
    """
    clocks: dict[str, Callable[[], Clock]] = {
        "cron_app": lambda: FileClock(os.environ["SIM_CLOCK"]),
        "fast_cron_app": lambda: FastClock(*map(float, os.environ["SIM_FAST"].split(","))),
    }
    if name not in clocks:
        raise AttributeError(name)
    return App(
        os.environ["REMOTETASK_DATABASE"], clock=clocks[name](), settings=Settings(wait_time=0.01)
    )
