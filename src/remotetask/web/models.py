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
    input: Any = Field(
        default=None,
        description="A JSON value for the task: of the task's input schema if it has one "
        "(see `GET /api/v1/tasks` and the `TaskInput.*` schemas)",
    )
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


class CronFields(Strict):
    """Field sets (0 = Monday for day_of_week) or a crontab expression (0 = Sunday)."""

    minute: list[int] = _cron_field()
    hour: list[int] = _cron_field()
    day_of_month: list[int] = _cron_field()
    month: list[int] = _cron_field()
    day_of_week: list[int] = _cron_field()
    cron: str | None = Field(default=None, max_length=200, examples=["*/5 * * * *"])
    timezone: str = Field(default="UTC", max_length=64, description="An IANA time zone")


class CronJobIn(CronFields):
    """A new cron job: its task, its input and its schedule."""

    task: str = _task_name()
    input: Any = None


class CronScheduleIn(CronFields):
    """A cron or delayed job's whole new schedule; what is not given takes its default."""

    delay: float | None = Field(
        default=None, ge=0, le=MAX_DELAY, description="Seconds, for a delayed job"
    )


class CronJobPatch(Strict):
    """Only the fields given change (``change_cron_job``); the rest of the schedule stays."""

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
    error_type: str | None = Field(default=None, description="The exception's class name")
    paused: bool = False
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
    input_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema of the input; null: any JSON value"
    )
    result_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema of the result; null: any JSON value"
    )


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


class FieldProblem(BaseModel):
    pointer: str = Field(description="Where: e.g. `body/input/items/0/name`")
    detail: str
    loc: list[str | int] | None = Field(
        default=None, description="For a job's input: the keys and indexes within the input"
    )


class ProblemOut(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldProblem] | None = Field(
        default=None, description="The fields at fault, for invalid requests and inputs"
    )
