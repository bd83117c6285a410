"""``remotetask watch``: live progress from the job's reported progress.

On a terminal it draws click's progress bar; otherwise (a pipe, a log) it
prints one line per change, like ``40% slept 0.2s``, so scripts can follow.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from remotetask.client import RemoteService
from remotetask.jobs import COMPLETED, FINISHED, Job

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

STEPS = 100
POLL_SECONDS = 1.0
"""Each poll is a long-poll: it returns at once when the job ends."""


def follow(service: RemoteService, job_id: int, timeout: float | None, quiet: bool) -> Job:
    """Poll the job until it ends, showing its progress; TimeoutError after ``timeout``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    job = service.job(job_id)
    bar: ProgressBar[int] | None = None
    if not quiet and sys.stderr.isatty():
        bar = click.progressbar(length=STEPS, label=f"job {job_id} ({job.task})", file=sys.stderr)
    shown = -1
    try:
        while True:
            percent = STEPS if job.status == COMPLETED else int((job.progress or 0.0) * STEPS)
            if percent > shown:
                if bar is not None:
                    bar.update(percent - max(shown, 0))
                elif not quiet:
                    message = job.progress_message or str(job.status)
                    click.echo(f"{percent}% {message}", err=True)
                shown = percent
            if job.status in FINISHED:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout} s")
            left = POLL_SECONDS if deadline is None else deadline - time.monotonic()
            job = service.poll(job_id, min(POLL_SECONDS, left))
    finally:
        if bar is not None:
            bar.render_finish()
