"""A worker process that polls only once a minute: it runs jobs early only if woken.

Usage: python -m tests.integration.idle_worker DATABASE_URL
Prints "ready" once it processes (its wake-up listener is up), and exits after its
first completed job.
"""

from __future__ import annotations

import sys
import time

import remotetask


def main(url: str) -> None:
    app = remotetask.App(
        url, settings=remotetask.Settings(wait_time=60.0, lease_seconds=600.0, auto_migrate=True)
    )
    app.register("echo", lambda value: value)
    service = app.service("site1@Idle")
    service.start_processing()
    print("ready", flush=True)
    deadline = time.monotonic() + 120
    while not service.counts().get(remotetask.COMPLETED) and time.monotonic() < deadline:
        time.sleep(0.02)
    app.close()


if __name__ == "__main__":
    main(sys.argv[1])
