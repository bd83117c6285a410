"""Job values: the statuses users see and the frozen record read from a store."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remotetask.schedule import Schedule


class Status(StrEnum):
    """Job statuses, spelled exactly as the original (``start later`` has a space)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    ERROR = "error"
    CANCELLED = "cancelled"
    DELAYED = "delayed"
    CRONJOB = "cronjob"
    START_LATER = "start later"


QUEUED = Status.QUEUED
PROCESSING = Status.PROCESSING
COMPLETED = Status.COMPLETED
ERROR = Status.ERROR
CANCELLED = Status.CANCELLED
DELAYED = Status.DELAYED
CRONJOB = Status.CRONJOB
START_LATER = Status.START_LATER

FINISHED = frozenset({COMPLETED, ERROR, CANCELLED})
"""Statuses a job never leaves; the only ones ``clean`` removes."""

CANCELLABLE = frozenset({QUEUED, DELAYED, CRONJOB, START_LATER})
"""Statuses ``cancel`` moves to ``cancelled`` at once (a running job is asked to stop)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One job as stored: a value, never saving itself."""

    id: int
    service: str
    task: str
    input: Any
    status: Status
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    attempts: int = 0
    progress: float | None = None
    progress_message: str | None = None
    created: float = 0.0
    started: float | None = None
    ended: float | None = None
    schedule: Schedule | None = None
    next_call: float | None = None
    cancel_requested: bool = False

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.task} {self.status}>"


@dataclass(frozen=True, slots=True)
class CronRun:
    """One firing of a cron job: when it was due, when it ran, how it ended."""

    id: int
    job_id: int
    scheduled_for: float
    started: float
    ended: float | None = None
    result: Any = None
    error: str | None = None
