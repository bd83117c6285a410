"""Job values: the statuses users see, the frozen record read from a store, and queries.

``Job.to_json`` / ``Job.from_json`` are the one projection of a job to JSON, used
by the HTTP API, the client and the CLI, so a new field touches this file only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

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
    error_type: str | None = None
    """The exception's class (``ValueError``, ``mymodule.Declined``) when a run raised one."""
    paused: bool = False
    """A paused cron job does not fire until it is resumed."""

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.task} {self.status}>"

    def to_json(self) -> dict[str, Any]:
        """Every field as a JSON object (status as its string, schedule as its object)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["status"] = str(self.status)
        data["schedule"] = None if self.schedule is None else self.schedule.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        """Rebuild a job from ``to_json`` output (optional fields may be missing)."""
        schedule = data.get("schedule")
        return cls(
            id=int(data["id"]),
            service=data["service"],
            task=data["task"],
            input=data.get("input"),
            status=Status(data["status"]),
            result=data.get("result"),
            error=data.get("error"),
            traceback=data.get("traceback"),
            attempts=int(data.get("attempts", 0)),
            progress=data.get("progress"),
            progress_message=data.get("progress_message"),
            created=float(data["created"]),
            started=data.get("started"),
            ended=data.get("ended"),
            schedule=None if schedule is None else Schedule.from_json(schedule),
            next_call=data.get("next_call"),
            cancel_requested=bool(data.get("cancel_requested", False)),
            error_type=data.get("error_type"),
            paused=bool(data.get("paused", False)),
        )


@dataclass(frozen=True, slots=True)
class CronRun:
    """One firing of a cron job: when it was due, when it ran, how it ended.

    A firing whose task raised is run again under the task's retry policy on this
    same record: ``attempts`` counts its runs, and while it waits for the next one
    ``ended`` is None, ``retry_at`` is set and ``error`` is the last run's.
    """

    id: int
    job_id: int
    scheduled_for: float
    started: float
    ended: float | None = None
    result: Any = None
    error: str | None = None
    error_type: str | None = None
    attempts: int = 1
    retry_at: float | None = None


SORTS = ("id", "created", "task", "status", "started", "ended")
"""What ``list_jobs`` can order by; ``created`` is id order (ids are given out as jobs
are added). Every sort ends on the id, so paging is keyset paging on (value, id)."""


@dataclass(frozen=True, slots=True)
class JobQuery:
    """Filters, order and keyset paging for ``list_jobs``.

    ``after_id`` (with ``after_value``, the sort value of that row, for sorts other
    than id) is the cursor: the page starts past it. Jobs without a start or end
    come last when sorting by ``started`` or ``ended``; their cursor value is None.
    ``search`` keeps jobs whose input or error contains the text (any case);
    ``scan_until`` bounds such a search to ids past it (exclusive), so one page
    never reads more than a window of the table.
    """

    statuses: frozenset[Status] = field(default_factory=frozenset)
    task: str | None = None
    newest_first: bool = True
    after_id: int | None = None
    limit: int = 100
    sort: str = "id"
    after_value: str | float | None = None
    search: str | None = None
    scan_until: int | None = None
    nulls_first: bool = False
    """Put jobs without a value to sort by first (paging backwards through a list)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a claimed run ended, as the store writes it and observers hear it.

    ``status`` is the job's new status; for a retry it is ``queued`` with
    ``next_call`` set to when the next attempt may start.
    """

    status: Status
    result_json: str | None = None
    error: str | None = None
    traceback: str | None = None
    next_call: float | None = None
    error_type: str | None = None
