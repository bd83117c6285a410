"""Real processes on real PostgreSQL: concurrent migrations, graceful shutdown, --processes."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from remotetask import App, Settings
from remotetask.store import open_store
from remotetask.store.migrate import latest_version
from tests.faults.harness import ROOT, children, query, spawn, stop, wait_for, worker_command
from tests.faults.worker_tasks import register

pytestmark = pytest.mark.postgres


def test_five_processes_migrate_an_empty_database_exactly_once(postgres_url: str) -> None:
    command = [sys.executable, "-m", "remotetask", "migrate", "--database", postgres_url]
    started = time.monotonic()
    processes = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(5)
    ]
    outputs = [p.communicate(timeout=60)[0].decode() for p in processes]
    elapsed = time.monotonic() - started
    applied = [
        int(m.group(1))
        for out in outputs
        for m in re.finditer(r"^applied (\d+) migration", out, re.M)
    ]
    print(f"\nM1: 5 concurrent migrate processes, applied per process {applied}, {elapsed:.2f} s")
    assert [p.returncode for p in processes] == [0] * 5, outputs
    latest = latest_version("postgresql")
    assert sorted(applied) == [0, 0, 0, 0, latest]
    store = open_store(postgres_url)
    assert store.schema_version() == latest
    store.close()


def test_sigterm_lets_short_jobs_finish_and_gives_long_ones_back(
    postgres_url: str, tmp_path: Path
) -> None:
    app = App(postgres_url, settings=Settings(auto_migrate=True))
    register(app)
    service = app.add_service("site1@S")
    short = service.add_many("nap", [500, 500])
    long = service.add_many("nap", [60_000, 60_000])
    supervisor = spawn(
        worker_command(postgres_url, "--processes", "2", "--threads", "2", "--grace", "2"),
        tmp_path / "worker.log",
    )
    try:
        wait_for(
            lambda: [service.status(i) for i in short + long],
            lambda statuses: statuses == ["processing"] * 4,
            30,
            "all four jobs running",
        )
        workers = children(supervisor.pid)
        assert len(workers) == 2
        sent = time.monotonic()
        code = stop(supervisor, timeout=20)
        exit_after = time.monotonic() - sent
    finally:
        stop(supervisor)
    jobs = [service.job(i) for i in short + long]
    print(
        f"\nR3: SIGTERM with grace 2 s: exit after {exit_after:.2f} s (code {code}); "
        f"short jobs {[j.status.value for j in jobs[:2]]}, "
        f"long jobs {[(j.status.value, j.attempts) for j in jobs[2:]]}"
    )
    assert code == 0
    assert exit_after < 2 + 3
    assert [j.status for j in jobs[:2]] == ["completed", "completed"]
    assert [(j.status, j.attempts, j.started) for j in jobs[2:]] == [("queued", 0, None)] * 2
    assert query(postgres_url, "SELECT count(*) FROM workers") == [(0,)]
    app.close()
