"""Observers of job life: how metrics and structured logs learn what happened.

The engine tells them as jobs are stored and as runs end; an observer that
raises is logged and ignored, so metrics can never break job processing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from remotetask.jobs import Job, Outcome
from remotetask.refs import ServiceRef

log = logging.getLogger("remotetask")


class JobObserver(Protocol):
    """Receives job events, each in the thread that caused it (for a finished run, the
    thread that stored it: the events of a group commit follow that commit)."""

    def job_submitted(self, ref: ServiceRef, tasks: list[str]) -> None:
        """Jobs of these tasks (one entry per job) were stored in the service ``ref``."""

    def job_finished(self, ref: ServiceRef, job: Job, outcome: Outcome, finished: float) -> None:
        """A claimed run of ``job`` (as claimed: ``started`` set) ended with ``outcome``."""


@contextmanager
def suppress_observer_errors(observer: object) -> Iterator[None]:
    """Log an observer's exception instead of letting it reach the caller."""
    try:
        yield
    except Exception:
        log.exception("job observer %r failed; ignored", observer)
