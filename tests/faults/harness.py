"""Real worker processes for the fault tests, and the checks run on what they leave."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from remotetask import App, Settings
from tests.faults.worker_tasks import LEDGER, register

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def worker_command(url: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "remotetask",
        "worker",
        "--database",
        url,
        "--tasks",
        "tests.faults.worker_tasks",
        "--service",
        "site1@S",
        "--autostart",
        "site1@S",
        *args,
    ]


def spawn(
    command: Sequence[str], log: Path, lease: float = 3.0, **env: str
) -> subprocess.Popen[bytes]:
    """Start a process with its output in ``log`` (never a pipe that could fill up)."""
    environ = {**os.environ, "REMOTETASK_LEASE_SECONDS": str(lease), **env}
    with log.open("ab") as out:
        return subprocess.Popen(list(command), cwd=ROOT, env=environ, stdout=out, stderr=out)


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM, then SIGKILL if it does not exit in time; return the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def query(url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of one query on a fresh connection (survives a server restart between calls)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(sql, tuple(params))
        return cur.fetchall() if cur.description is not None else []


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], timeout: float, what: str) -> T:
    """Poll ``probe`` until ``done`` holds; a probe failing (server down) just retries."""
    deadline = time.monotonic() + timeout
    value: T | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except psycopg.OperationalError:
            time.sleep(0.1)
            continue
        if done(value):
            return value
        time.sleep(0.01)
    raise AssertionError(f"{what}: not reached in {timeout} s (last: {value!r})")


def status_counts(url: str) -> dict[str, int]:
    return dict(query(url, "SELECT status, count(*) FROM jobs GROUP BY status"))  # type: ignore[arg-type]


def unfinished(counts: dict[str, int]) -> int:
    return sum(n for s, n in counts.items() if s in ("queued", "processing"))


def overlaps(url: str, kill_times: dict[int, float]) -> int:
    """Pairs of attempts of one job whose running intervals intersect.

    An attempt killed mid-run has no end; it ran until its process was killed.
    """
    rows = query(url, "SELECT job_id, attempt, pid, t_start, t_end FROM ledger ORDER BY job_id")
    by_job: dict[int, list[tuple[float, float]]] = {}
    for job_id, _attempt, pid, start, end in rows:
        stop_at = end if end is not None else kill_times.get(pid, float("inf"))
        by_job.setdefault(job_id, []).append((start, stop_at))
    found = 0
    for spans in by_job.values():
        spans.sort()
        latest_end = float("-inf")
        for start, end in spans:
            if start < latest_end:
                found += 1
            latest_end = max(latest_end, end)
    return found


def enqueue(url: str, task: str, inputs: list[object]) -> list[int]:
    """Store jobs of a ``worker_tasks`` task (and the ledger table the ``record`` task needs)."""
    app = App(url, settings=Settings(auto_migrate=True))
    register(app)
    ids = app.add_service("site1@S").add_many(task, inputs)
    app.close()
    query(url, LEDGER)
    return ids


def stale_completions(url: str) -> int:
    """Completed jobs whose stored result came from an attempt other than the last one."""
    rows = query(url, "SELECT attempts, result FROM jobs WHERE status = 'completed'")
    return sum(1 for attempts, result in rows if json.loads(result)["attempt"] != attempts)
