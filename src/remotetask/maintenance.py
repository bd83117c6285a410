"""Housekeeping the processing loop does besides running jobs.

Worker heartbeats (so operators see who is alive), timeouts of jobs that run
too long, and retention: finished jobs are deleted in small batches, each its
own short transaction, so pruning never holds locks that claims wait on.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

from remotetask.jobs import Status
from remotetask.runner import retry_or_fail
from remotetask.store.base import Claim, WorkerInfo

if TYPE_CHECKING:
    from remotetask.app import App
    from remotetask.service import TaskService

log = logging.getLogger("remotetask")

PRUNE_EVERY_S = 60.0
PRUNE_MAX_BATCHES = 100
"""Batches per service per pruning pass; a larger backlog is finished on later passes."""


def register_worker(app: App, services: list[str], now: float) -> None:
    """Record this process as a worker serving ``services`` (replaces a stale row)."""
    info = WorkerInfo(app.worker_name, socket.gethostname(), os.getpid(), tuple(services), now, now)
    app.store.register_worker(info)


def heartbeat(app: App, services: list[str], now: float) -> None:
    """Stamp this worker's heartbeat, recording it again if its row went missing."""
    if not app.store.heartbeat_worker(app.worker_name, now):
        register_worker(app, services, now)


def time_out(service: TaskService, claim: Claim, timeout: float, now: float) -> bool:
    """End a run that exceeded its task's timeout: retried or failed by its retry policy.

    Guarded by the claim token, so the run's own late completion is then refused.
    Python cannot stop the thread; it runs on until the task returns.
    """
    message = f"timed out after {timeout:g} s"
    outcome = retry_or_fail(service, claim.job, message, now)
    if not service.store.finish(claim.job.id, claim.token, outcome, now):
        return False
    log.warning(
        "job %s (%s) of %s %s; %s",
        claim.job.id,
        claim.job.task,
        service.ref,
        message,
        "queued again" if outcome.next_call is not None else "failed",
    )
    return True


def prune_finished(service: TaskService, now: float) -> int:
    """Delete finished jobs older than the app's retention for their status; return how many."""
    settings = service.app.settings
    removed = 0
    for status, keep in sorted(settings.retention.items()):
        if keep is None:
            continue
        for _ in range(PRUNE_MAX_BATCHES):
            count = service.store.prune(
                service.ref, Status(status), now - keep, settings.prune_batch
            )
            removed += count
            if count < settings.prune_batch:
                break
    if removed:
        log.info("pruned %d finished job(s) of %s", removed, service.ref)
    return removed
