"""The JSON shapes of the HTTP API: one pydantic model per request and response body.

They document the API (OpenAPI 3.1) and validate requests; the client reads
the same field names back. Times are epoch seconds (UTC), as in the Python API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from remotetask.jobs import Status

MAX_ID = 2**63 - 1
JobIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A job id")]
MAX_DELAY = 10 * 366 * 24 * 3600.0
"""Ten years: the longest ``delay`` accepted."""
MAX_BULK = 10_000
"""Most jobs in one bulk request (the body limit applies too)."""


def _task_name() -> Any:
    return Field(min_length=1, max_length=200, description="A registered task name")


def _cron_field() -> Any:
    return Field(default_factory=list, max_length=60)


class Strict(BaseModel):
    """Unknown fields and values of the wrong JSON type are errors (``"yes"`` is no boolean)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class JobIn(Strict):
    task: str = _task_name()
    input: Any = Field(default=None, description="Any JSON value, given to the task")
    start_later: bool = Field(
        default=False, description="Park the job as `start later` until it is started"
    )
    delay: float | None = Field(
        default=None,
        ge=0,
        le=MAX_DELAY,
        description="Run once after this many seconds (status `delayed`)",
    )


class BulkIn(Strict):
    """Many jobs of one task in one request (``TaskService.add_many``)."""

    task: str = _task_name()
    inputs: list[Any] = Field(
        min_length=1, max_length=MAX_BULK, description="One job per input, in this order"
    )


class BulkOut(BaseModel):
    ids: list[int] = Field(description="The jobs' ids, in the order of the inputs")


class CronJobIn(Strict):
    """Either field sets (0 = Monday for day_of_week) or a crontab expression (0 = Sunday)."""

    task: str = _task_name()
    input: Any = None
    minute: list[int] = _cron_field()
    hour: list[int] = _cron_field()
    day_of_month: list[int] = _cron_field()
    month: list[int] = _cron_field()
    day_of_week: list[int] = _cron_field()
    cron: str | None = Field(default=None, max_length=200, examples=["*/5 * * * *"])
    timezone: str = Field(default="UTC", max_length=64, description="An IANA time zone")


class CronJobPatch(Strict):
    """Only the fields given change; the job is rescheduled from the next pass."""

    minute: list[int] | None = Field(default=None, max_length=60)
    hour: list[int] | None = Field(default=None, max_length=60)
    day_of_month: list[int] | None = Field(default=None, max_length=60)
    month: list[int] | None = Field(default=None, max_length=60)
    day_of_week: list[int] | None = Field(default=None, max_length=60)
    cron: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    delay: float | None = Field(default=None, ge=0, le=MAX_DELAY)


class JobOut(BaseModel):
    id: int
    service: str
    task: str
    status: Status
    input: Any = None
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    attempts: int = 0
    progress: float | None = None
    progress_message: str | None = None
    created: float
    started: float | None = None
    ended: float | None = None
    next_call: float | None = None
    schedule: dict[str, Any] | None = None
    cancel_requested: bool = False
    truncated: list[str] = Field(
        default_factory=list,
        description="In lists only: fields too large to list, sent as null (read the job)",
    )


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class TaskOut(BaseModel):
    name: str
    description: str


class ServiceIn(Strict):
    ref: str = Field(min_length=2, max_length=202, examples=["site1@Converter", "@RootService"])


class ServiceOut(BaseModel):
    ref: str
    site: str
    name: str
    processing: bool
    counts: dict[str, int]


class CleanIn(Strict):
    statuses: list[str] = Field(
        default_factory=lambda: ["cancelled", "completed", "error"], max_length=8
    )


class Count(BaseModel):
    count: int


class Cancelled(BaseModel):
    cancelled: bool


class Started(BaseModel):
    started: bool


class Retried(BaseModel):
    retried: bool


class ProcessingOut(BaseModel):
    processing: bool


class ProblemOut(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
