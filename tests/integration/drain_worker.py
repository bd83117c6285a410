"""A worker process for the concurrency tests: drains one service, logging each run.

Usage: python -m tests.integration.drain_worker DATABASE_URL LOGFILE THREADS TOTAL
Each run appends "job_id attempt pid" to LOGFILE; the process exits when TOTAL jobs
are completed.
"""

from __future__ import annotations

import os
import sys
import time

import remotetask


def main(url: str, logfile: str, threads: int, total: int) -> None:
    app = remotetask.App(
        url, settings=remotetask.Settings(processor=remotetask.MultiProcessor(threads))
    )
    log = open(logfile, "a", buffering=1)  # noqa: SIM115 - closed at exit below

    @app.task(name="record", context=True)
    def record(ctx: remotetask.JobContext, input: object) -> int:
        log.write(f"{ctx.job_id} {ctx.attempt} {os.getpid()}\n")
        return ctx.job_id

    service = app.service("site1@Drain")
    service.start_processing()
    deadline = time.monotonic() + 300
    while service.counts().get(remotetask.COMPLETED, 0) < total:
        if time.monotonic() > deadline:
            sys.exit("timed out")
        time.sleep(0.05)
    app.close()
    log.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
