"""Kill workers and restart PostgreSQL while jobs drain: no job lost, no double live run.

Each test prints its figures (run pytest with ``-s`` to see them) and asserts
the guarantees. The task ``record`` writes every attempt's start and end to a
ledger table, which is how overlapping attempts of one job would be seen.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.harness import (
    children,
    enqueue,
    overlaps,
    query,
    spawn,
    stale_completions,
    status_counts,
    stop,
    unfinished,
    wait_for,
    worker_command,
)

pytestmark = pytest.mark.postgres
LEASE = 3.0


def test_sigkill_a_worker_every_second_while_2000_jobs_drain(
    postgres_url: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    enqueue(postgres_url, "record", [{"ms": rng.randint(20, 150)} for _ in range(2000)])
    supervisor = spawn(
        worker_command(postgres_url, "--processes", "3", "--threads", "4"),
        tmp_path / "workers.log",
        lease=LEASE,
    )
    kills: dict[int, float] = {}
    started = time.monotonic()
    try:
        deadline = started + 90
        while time.monotonic() < deadline:
            if unfinished(status_counts(postgres_url)) == 0:
                break
            time.sleep(rng.uniform(0.7, 1.3))
            live = children(supervisor.pid)
            if live:
                victim = rng.choice(live)
                os.kill(victim, signal.SIGKILL)
                kills[victim] = time.time()
        drain = time.monotonic() - started
    finally:
        stop(supervisor)
    counts = status_counts(postgres_url)
    attempts = Counter(n for (n,) in query(postgres_url, "SELECT attempts FROM jobs"))
    runs = query(postgres_url, "SELECT count(*), count(DISTINCT job_id) FROM ledger")[0]
    lost, overlapping, stale = unfinished(counts), overlaps(postgres_url, kills), 0
    stale = stale_completions(postgres_url)
    print(
        f"\nR1: 2000 jobs (20-150 ms), 3 worker processes x 4 threads, lease {LEASE:g} s, "
        f"{len(kills)} SIGKILLs in {drain:.1f} s ({2000 / drain:.0f} jobs/s)\n"
        f"    statuses {dict(counts)}; lost {lost}; overlapping live attempts {overlapping}; "
        f"stale completions accepted {stale}\n"
        f"    attempts histogram {dict(sorted(attempts.items()))}; "
        f"runs started {runs[0]} for {runs[1]} jobs (re-runs {runs[0] - runs[1]})"
    )
    assert len(kills) >= 3
    assert runs[1] == 2000, "every job ran"
    assert counts.get("completed", 0) >= 1900
    assert lost == 0
    assert overlapping == 0
    assert stale == 0
    assert sum(counts.values()) == 2000


def restart_postgres() -> None:
    version = os.listdir("/etc/postgresql")[0]
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            version,
            "main",
            "restart",
            "-m",
            "immediate",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def ensure_postgres_running() -> None:
    ready = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0
    if not ready:
        version = os.listdir("/etc/postgresql")[0]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            timeout=60,
        )


@pytest.mark.skipif(not os.path.isdir("/etc/postgresql"), reason="needs a local cluster")
def test_postgres_restart_during_a_drain(postgres_url: str, tmp_path: Path) -> None:
    total = 3000
    enqueue(postgres_url, "nap", [5] * total)
    workers = [
        spawn(worker_command(postgres_url, "--threads", "4"), tmp_path / f"w{i}.log", lease=LEASE)
        for i in range(2)
    ]
    try:
        wait_for(
            lambda: status_counts(postgres_url).get("completed", 0),
            lambda done: done >= total // 4,
            60,
            "a quarter drained",
        )
        at_restart = status_counts(postgres_url).get("completed", 0)
        restarted = time.monotonic()
        try:
            restart_postgres()
        finally:
            ensure_postgres_running()
        back = time.monotonic()
        before = status_counts(postgres_url).get("completed", 0)
        wait_for(
            lambda: status_counts(postgres_url).get("completed", 0),
            # The workers may have drained the rest before the first read after the restart.
            lambda done: done > before or done == total,
            30,
            "claiming resumed",
        )
        resumed = time.monotonic()
        counts = wait_for(
            lambda: status_counts(postgres_url),
            lambda c: unfinished(c) == 0,
            90,
            "drained after the restart",
        )
        alive = [w.poll() is None for w in workers]
    finally:
        ensure_postgres_running()
        for worker in workers:
            stop(worker)
    reruns = query(postgres_url, "SELECT count(*) FROM jobs WHERE attempts > 1")[0][0]
    print(
        f"\nD1: {total} jobs (5 ms), 2 worker processes x 4 threads, PostgreSQL restarted "
        f"(-m immediate) after {at_restart} completions: down {back - restarted:.1f} s, "
        f"claiming resumed {resumed - back:.1f} s after it was back\n"
        f"    statuses {counts}; lost {unfinished(counts)}; jobs run twice {reruns}; "
        f"worker processes alive without restart {alive}"
    )
    assert alive == [True, True]
    assert counts == {"completed": total}
    assert resumed - back < 15
