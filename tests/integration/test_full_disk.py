"""A full disk refuses new jobs with a clear error, loses none it accepted, and recovers.

The database lives on a 2 MiB tmpfs mounted for the test (``small_disk``, needs root, as in CI).
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

import remotetask


def test_full_disk_refuses_clearly_keeps_accepted_jobs_and_recovers(small_disk: Path) -> None:
    path = small_disk / "jobs.db"
    app = remotetask.App(f"sqlite:///{path}")
    app.register("echo", lambda input: input)
    service = app.add_service("site1@Svc")
    accepted: list[int] = []
    with pytest.raises(remotetask.StoreError, match="is full; nothing was stored"):  # noqa: PT012
        for n in range(100_000):
            accepted.append(service.add("echo", {"n": n, "padding": "x" * 500}))
    print(f"\naccepted {len(accepted)} jobs before the 2 MiB disk was full")
    assert len(accepted) > 100
    assert sorted(service.jobs) == accepted  # every accepted job is there, nothing else

    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    later = service.add("echo", "room again")  # the same App recovers without a restart
    assert service.process() == len(accepted) + 1
    assert service.status(later) == "completed"
    app.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
