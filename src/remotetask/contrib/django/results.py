"""A remotetask job seen as a Django ``TaskResult``: statuses, times, errors, return value.

remotetask keeps one error per job (the latest) and counts attempts without
naming the worker of each, so ``errors`` holds at most that one error and
``worker_ids`` repeats the job's service once per attempt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from remotetask.contrib.django.framework import Task, TaskError, TaskResult, TaskResultStatus
from remotetask.jobs import (
    CANCELLED,
    COMPLETED,
    CRONJOB,
    DELAYED,
    ERROR,
    FINISHED,
    PROCESSING,
    QUEUED,
    START_LATER,
    Job,
    Status,
)

STATUSES: dict[Status, Any] = {
    QUEUED: TaskResultStatus.READY,
    DELAYED: TaskResultStatus.READY,
    START_LATER: TaskResultStatus.READY,
    CRONJOB: TaskResultStatus.READY,
    PROCESSING: TaskResultStatus.RUNNING,
    COMPLETED: TaskResultStatus.SUCCESSFUL,
    ERROR: TaskResultStatus.FAILED,
    CANCELLED: TaskResultStatus.FAILED,
}
"""Each job status as a Django status (``Any``: without Django's type stubs, mypy would
take a ``TextChoices`` member for a tuple)."""
EXPECTED_ERROR = "remotetask.errors.TaskError"
"""The class named for an error without a traceback: a TaskError, a timeout, a cancel."""


def job_input(args: Any, kwargs: Any) -> dict[str, Any]:
    """The job input that carries a task call's arguments."""
    return {"args": list(args), "kwargs": dict(kwargs)}


def task_result(task: Task[Any, Any], job: Job, alias: str) -> TaskResult[Any]:
    """The ``TaskResult`` of ``task`` that ``job`` stands for."""
    status = STATUSES[job.status]
    finished = job.status in FINISHED
    call = job.input if isinstance(job.input, dict) else {}
    result: TaskResult[Any] = TaskResult(
        task=task,
        id=str(job.id),
        status=status,
        enqueued_at=moment(job.created),
        started_at=moment(job.started),
        finished_at=moment(job.ended) if finished else None,
        last_attempted_at=moment(job.started),
        args=call.get("args", []),
        kwargs=call.get("kwargs", {}),
        backend=alias,
        errors=errors(job),
        worker_ids=[job.service] * job.attempts,
    )
    if status == TaskResultStatus.SUCCESSFUL:
        object.__setattr__(result, "_return_value", job.result)
    return result


def errors(job: Job) -> list[TaskError]:
    """The job's error as Django's ``TaskError`` (a cancelled job has one too)."""
    message = job.error or ("cancelled" if job.status == CANCELLED else None)
    if message is None:
        return []
    if job.traceback:
        return [TaskError(exception_class_path=raised(job.traceback), traceback=job.traceback)]
    return [TaskError(exception_class_path=EXPECTED_ERROR, traceback=message)]


def raised(traceback: str) -> str:
    """The dotted path of the exception a formatted traceback ends with.

    Python prints ``module.Class: message`` on the last line, the module left
    out for builtins.
    """
    last = [line for line in traceback.splitlines() if line.strip()][-1]
    name = last.split(":", 1)[0].strip()
    return name if "." in name else f"builtins.{name}"


def moment(epoch: float | None) -> dt.datetime | None:
    """An epoch time as Django wants it: aware in UTC, or naive local when USE_TZ is off."""
    if epoch is None:
        return None
    aware = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return aware if settings.USE_TZ else timezone.make_naive(aware)
