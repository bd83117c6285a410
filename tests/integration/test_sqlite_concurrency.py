"""Several processes and threads on one SQLite file: every job runs exactly once."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import remotetask

JOBS = 5000
PROCESSES = 4
THREADS = 4


def test_four_processes_of_four_threads_claim_5000_jobs_exactly_once(
    file_url: str, tmp_path: Path
) -> None:
    app = remotetask.App(file_url)
    app.register("record", lambda input: input)
    service = app.add_service("site1@Drain")
    ids = service.add_many("record", range(JOBS))
    app.close()

    logs = [tmp_path / f"worker{n}.log" for n in range(PROCESSES)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.drain_worker",
                file_url,
                str(log),
                str(THREADS),
                str(JOBS),
                str(PROCESSES),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for log in logs
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=110)
        assert worker.returncode == 0, stderr
        assert "database is locked" not in stderr

    runs = Counter()
    pids = set()
    for log in logs:
        for line in log.read_text().splitlines():
            job_id, attempt, pid = line.split()
            runs[int(job_id)] += 1
            pids.add(pid)
            assert attempt == "1"
    print(f"\n{JOBS} jobs, {len(pids)} processes took part")
    assert set(runs) == set(ids), "every job ran"
    assert max(runs.values()) == 1, "no job ran twice"
    assert len(pids) == PROCESSES, "every process claimed jobs"

    check = remotetask.App(file_url).service("site1@Drain")
    assert check.counts() == {remotetask.COMPLETED: JOBS}
