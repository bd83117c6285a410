"""What a task timeout costs, as built and as a child process per run would (issue 10, item 6).

    .venv/bin/python bench/bench_timeouts.py [--runs 10] [--timeout 0.2]

Prints, in milliseconds (median of ``--runs``):
- from a hung task's deadline to the next job of its one-thread service completing
  (the slot handed over when the timed-out thread is abandoned);
- a no-op run in a new child process that imports remotetask, with ``spawn`` and with
  ``forkserver`` with remotetask preloaded (what a killable child per run would add to
  every job with a timeout, before the task's own imports).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
from pathlib import Path

import remotetask


def _noop_in_child() -> None:
    """What a child would at least do: import remotetask, run, answer."""
    import remotetask as loaded

    assert loaded.App is not None


def child_ms(method: str, runs: int) -> float:
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["remotetask"])  # the fairest case: imported once
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        child = context.Process(target=_noop_in_child)
        child.start()
        child.join()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def handover_ms(app: remotetask.App, runs: int, timeout: float) -> float:
    """From a hung job's deadline to the completion of the job queued behind it."""
    app.task(timeout=timeout, retry=remotetask.RetryPolicy(max_attempts=1))(hang)
    app.register("echo", lambda value: value)
    service = app.add_service("bench@Timeouts")
    service.start_processing()
    samples = []
    for _ in range(runs):
        started = time.monotonic()
        service.add("hang")
        behind = service.add("echo", 1)
        while service.status(behind) != "completed":
            time.sleep(0.001)
        samples.append((time.monotonic() - started - timeout) * 1000)
    RELEASE.set()  # the abandoned threads end (their results refused) while children run
    return statistics.median(samples)


RELEASE = threading.Event()


def hang(_input: object) -> None:
    """A stand-in for a call that never answers (until the benchmark ends)."""
    RELEASE.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)  # at most MAX_ABANDONED_THREADS
    parser.add_argument("--timeout", type=float, default=0.2)
    args = parser.parse_args()
    print(f"| what | median ms over {args.runs} |")
    print("|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        app = remotetask.App(f"sqlite:///{Path(folder) / 'jobs.db'}")
        handover = handover_ms(app, args.runs, args.timeout)
        print(f"| deadline → next job done (abandoned thread) | {handover:.1f} |")
        for method in ("spawn", "forkserver"):
            print(f"| no-op child process ({method}) | {child_ms(method, args.runs):.1f} |")
        app.close()


if __name__ == "__main__":
    main()
