"""Worker process for bench_sqlite.py: drain every queued job, print seconds and peak RSS."""

from __future__ import annotations

import resource
import sys
import time

import remotetask


def main(url: str, jobs: int, threads: int) -> None:
    processor = remotetask.MultiProcessor(threads) if threads > 1 else remotetask.SimpleProcessor()
    app = remotetask.App(url, settings=remotetask.Settings(processor=processor))
    app.register("noop", lambda input: None)
    service = app.service("bench@Svc")
    started = time.perf_counter()
    service.start_processing()
    # Counting all jobs every 10 ms would cost the drain a tenth of a core: look for
    # waiting jobs (an index probe) and count only once none is left.
    while service.has_jobs_waiting() or service.counts().get(remotetask.COMPLETED, 0) < jobs:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    app.close()
    print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
