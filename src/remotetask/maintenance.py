"""Housekeeping the processing loop does besides running jobs.

Worker rows (so operators see who is alive) and retention: finished jobs are
deleted in small batches, each its own short transaction, so pruning never
holds locks that claims wait on.
"""

from __future__ import annotations

import logging
import os
import socket

from remotetask.engine import Engine
from remotetask.errors import StoreError
from remotetask.jobs import Status
from remotetask.refs import ServiceRef
from remotetask.workers import WorkerInfo

log = logging.getLogger("remotetask")

PRUNE_EVERY_S = 60.0
PRUNE_MAX_BATCHES = 100
"""Batches per service per pruning pass; a larger backlog is finished on later passes."""


def register_worker(engine: Engine, now: float) -> None:
    """Record this process as a worker serving its processing services (replaces a stale row)."""
    info = WorkerInfo(
        engine.worker_name,
        socket.gethostname(),
        os.getpid(),
        tuple(engine.processing_refs()),
        now,
        now,
    )
    engine.store.register_worker(info)


def heartbeat(engine: Engine, now: float) -> None:
    """Stamp this worker's heartbeat, recording it again if its row went missing."""
    if not engine.store.heartbeat_worker(engine.worker_name, now):
        register_worker(engine, now)


def forget_worker(engine: Engine) -> None:
    """Remove this process's worker row after it stopped processing (best effort)."""
    try:
        engine.store.remove_worker(engine.worker_name)
    except StoreError as exc:
        log.warning("could not remove worker %s: %s", engine.worker_name, exc)


def prune_finished(engine: Engine, ref: ServiceRef, now: float) -> int:
    """Delete finished jobs older than the retention for their status; return how many."""
    settings = engine.settings
    removed = 0
    for status, keep in sorted(settings.retention.items()):
        if keep is None:
            continue
        for _ in range(PRUNE_MAX_BATCHES):
            count = engine.store.prune(ref, Status(status), now - keep, settings.prune_batch)
            removed += count
            if count < settings.prune_batch:
                break
    if removed:
        log.info("pruned %d finished job(s) of %s", removed, ref)
    return removed
