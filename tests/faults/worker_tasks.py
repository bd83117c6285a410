"""Tasks the fault tests' worker processes run (``--tasks tests.faults.worker_tasks``).

``record`` writes each attempt's start and end to a ``ledger`` table next to
the jobs, so the test can see two live attempts of one job at once.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import psycopg

import remotetask
from remotetask import App, Settings

_local = threading.local()

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
        time.sleep(ms / 1000)
        conn.execute("UPDATE ledger SET t_end = %s WHERE id = %s", (time.time(), row[0]))
        return {"attempt": ctx.attempt, "pid": os.getpid()}

    @app.task
    def nap(ms: float) -> float:
        time.sleep(ms / 1000)
        return ms


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


def __getattr__(name: str) -> App:
    """``cron_app``: an App on the simulated clock of ``$SIM_CLOCK``, polling every 10 ms.

    Its tasks come from ``--tasks tests.faults.worker_tasks`` like the other workers'.
    """
    if name != "cron_app":
        raise AttributeError(name)
    return App(
        os.environ["REMOTETASK_DATABASE"],
        clock=FileClock(os.environ["SIM_CLOCK"]),
        settings=Settings(wait_time=0.01),
    )
