"""Observers of job life: how metrics and structured logs learn what happened.

The service and the runner call ``App.notify_*``; an observer that raises is
logged and ignored, so metrics can never break job processing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from remotetask.jobs import Job
    from remotetask.service import TaskService
    from remotetask.store.base import Outcome

log = logging.getLogger("remotetask")


class JobObserver(Protocol):
    """Receives job events; both methods are called in the thread that caused them."""

    def job_submitted(self, service: TaskService, tasks: list[str]) -> None:
        """Jobs of these tasks (one entry per job) were stored in ``service``."""

    def job_finished(
        self, service: TaskService, job: Job, outcome: Outcome, finished: float
    ) -> None:
        """A claimed run of ``job`` (as claimed: ``started`` set) ended with ``outcome``."""


@contextmanager
def suppress_observer_errors(observer: object) -> Iterator[None]:
    """Log an observer's exception instead of letting it reach the caller."""
    try:
        yield
    except Exception:
        log.exception("job observer %r failed; ignored", observer)
