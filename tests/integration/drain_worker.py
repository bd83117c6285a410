"""A worker process for the concurrency tests: drains one service, logging each run.

Usage: python -m tests.integration.drain_worker DATABASE_URL LOGFILE THREADS TOTAL PEERS
Each run appends "job_id attempt pid" to LOGFILE; the process exits when TOTAL jobs
are completed. Processing starts once PEERS workers have started (each leaves a
``.ready`` file next to its log): a drain takes well under a second, so a worker
that started late would otherwise find nothing left.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import remotetask


def main(url: str, logfile: str, threads: int, total: int, peers: int) -> None:
    app = remotetask.App(
        url, settings=remotetask.Settings(processor=remotetask.MultiProcessor(threads))
    )
    log = open(logfile, "a", buffering=1)  # noqa: SIM115 - closed at exit below

    @app.task(name="record", context=True)
    def record(ctx: remotetask.JobContext, input: object) -> int:
        log.write(f"{ctx.job_id} {ctx.attempt} {os.getpid()}\n")
        time.sleep(0.002)  # a drain of no-op jobs can end before a slow starter claims one
        return ctx.job_id

    service = app.service("site1@Drain")
    deadline = time.monotonic() + 300
    Path(f"{logfile}.ready").touch()
    while len(list(Path(logfile).parent.glob("*.ready"))) < peers:
        if time.monotonic() > deadline:
            sys.exit("the other workers did not start")
        time.sleep(0.01)
    service.start_processing()
    while service.counts().get(remotetask.COMPLETED, 0) < total:
        if time.monotonic() > deadline:
            sys.exit("timed out")
        time.sleep(0.05)
    app.close()
    log.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
