"""``/api/v1/services/{service}/jobs``: add, read, list, wait for and act on jobs.

Each route is a thin adapter: check the caller, call one TaskService verb,
serialise. Sync routes run in the thread pool (the store is blocking); the
long-poll route is async so a waiting client holds no thread.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from remotetask import jsonvalue
from remotetask.auth import Action
from remotetask.clock import pauses
from remotetask.errors import InvalidStatusError
from remotetask.jobs import FINISHED, Job, JobQuery, Status
from remotetask.service import TaskService
from remotetask.web.auth import ReadService, service_for
from remotetask.web.errors import Problem
from remotetask.web.models import (
    Cancelled,
    Count,
    JobIdPath,
    JobIn,
    JobOut,
    JobPage,
    Retried,
    Started,
)

log = logging.getLogger("remotetask.web")
router = APIRouter(prefix="/api/v1/services/{service}/jobs", tags=["jobs"])

MAX_PAGE = 500
MAX_KEY = 255


@router.post("", status_code=201, summary="Add a job")
def add_job(
    body: JobIn,
    service: Annotated[TaskService, Depends(service_for(Action.ADD_JOB))],
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=MAX_KEY + 2)] = None,
) -> JobOut:
    """Queue a job (``start_later`` parks it, ``delay`` runs it once later).

    With an ``Idempotency-Key`` header a repeated request returns the first job
    (same service, same key) instead of adding another; reusing a key for a
    different task or input is refused with 422.
    """
    key = _idempotency_key(idempotency_key)
    if body.delay:  # 0 is no delay, as the original: the job is queued at once
        if body.start_later or key is not None:
            raise Problem(422, "delay cannot be combined with start_later or an Idempotency-Key")
        job_id = service.add_cron_job(body.task, body.input, delay=body.delay)
    else:
        job_id = service.add(
            body.task, body.input, start_later=body.start_later, idempotency_key=key
        )
    job = service.job(job_id)
    if key is not None and not _same_request(service, job, body):
        raise Problem(
            422,
            f"the Idempotency-Key was already used for job {job.id} with another task or input",
            code="idempotency-mismatch",
        )
    log_added(service, job.id, job.task, "http")
    response.headers["Location"] = str(
        request.url_for("get_job", service=str(service.ref), job_id=job.id)
    )
    return JobOut.of(job)


def _same_request(service: TaskService, job: Job, body: JobIn) -> bool:
    """Whether the first job under a key came from this request: same task, same input.

    Inputs are compared as stored, so a typed input matches however it was spelled.
    """
    if job.task != body.task:
        return False
    return bool(job.input == jsonvalue.loads(service.app.tasks[body.task].encode_input(body.input)))


@router.get("", summary="List jobs")
def list_jobs(
    service: ReadService,
    request: Request,
    response: Response,
    status: Annotated[list[Status] | None, Query(max_length=8)] = None,
    task: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> JobPage:
    """A page of jobs, newest first by default, filtered by status and task.

    Paging is by keyset: pass ``next_cursor`` back as ``cursor``; the ``Link``
    header carries the next page's URL too.
    """
    query = JobQuery(
        statuses=frozenset(status or ()),
        task=task,
        newest_first=sort == "newest",
        after_id=_decode_cursor(cursor),
        limit=limit,
    )
    jobs = service.list_jobs(query)
    next_cursor = _encode_cursor(jobs[-1].id) if len(jobs) == limit else None
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
    return JobPage(items=[JobOut.of(job) for job in jobs], next_cursor=next_cursor)


@router.get("/{job_id}", summary="Get a job, optionally waiting until it is finished")
async def get_job(
    service: ReadService,
    request: Request,
    job_id: JobIdPath,
    wait: Annotated[float, Query(ge=0, le=3600, description="Seconds to wait for the end")] = 0,
) -> JobOut:
    """The job with its status, input, result, error, traceback, attempts, progress and times.

    With ``wait`` the answer comes as soon as the job is finished (completed,
    error or cancelled) or when ``wait`` seconds (capped by the server) have passed.
    """
    cap: float = request.app.state.settings.max_wait
    waits = pauses(min(wait, cap), cap=0.1)
    while (job := await run_in_threadpool(service.job, job_id)).status not in FINISHED:
        pause = next(waits, None)
        if pause is None:
            break
        await asyncio.sleep(pause)
    return JobOut.of(job)


@router.post("/{job_id}/cancel", summary="Cancel a job")
def cancel_job(
    service: Annotated[TaskService, Depends(service_for(Action.CANCEL_JOB))], job_id: JobIdPath
) -> Cancelled:
    """Cancel a waiting job at once or ask a running one to stop; false if it had ended."""
    service.job(job_id)
    return Cancelled(cancelled=service.cancel(job_id))


@router.post("/{job_id}/start", summary="Start a start-later job")
def start_job(
    service: Annotated[TaskService, Depends(service_for(Action.START_JOB))], job_id: JobIdPath
) -> Started:
    """Queue a ``start later`` job: true the first time, false afterwards."""
    service.job(job_id)
    return Started(started=service.start_job(job_id))


@router.post("/{job_id}/retry", summary="Retry an errored job")
def retry_job(
    service: Annotated[TaskService, Depends(service_for(Action.RETRY_JOB))], job_id: JobIdPath
) -> Retried:
    """Queue an ``error`` job again with its attempts reset; false if it is not in error."""
    return Retried(retried=service.retry(job_id))


@router.delete("/{job_id}", status_code=204, summary="Delete a finished job")
def delete_job(
    service: Annotated[TaskService, Depends(service_for(Action.DELETE_JOB))], job_id: JobIdPath
) -> Response:
    """Remove one completed, error or cancelled job; 409 if it has not finished."""
    if not service.delete(job_id):
        raise InvalidStatusError(f"job {job_id} has not finished; cancel it first")
    return Response(status_code=204)


@router.post("/cancel-all", summary="Cancel every waiting job")
def cancel_all(service: Annotated[TaskService, Depends(service_for(Action.CANCEL_ALL))]) -> Count:
    """Cancel every queued, delayed, cron and start-later job; running jobs are not touched."""
    return Count(count=service.cancel_all())


def log_added(service: TaskService, job_id: int, task: str, via: str) -> None:
    """The structured log line of a job added through the web app."""
    log.info(
        "job %s added: task %s on %s via %s",
        job_id,
        task,
        service.ref,
        via,
        extra={"job_id": job_id, "task": task, "service": str(service.ref)},
    )


def _idempotency_key(raw: str | None) -> str | None:
    """The key, with the quotes of the structured-field string form removed."""
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise Problem(400, f"the Idempotency-Key must be 1-{MAX_KEY} printable characters")
    return key


def _encode_cursor(job_id: JobIdPath) -> str:
    return base64.urlsafe_b64encode(f"id:{job_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "id" or not number.isdigit() or len(number) > 18:
            raise ValueError(text)
        return int(number)
    except ValueError:
        raise Problem(400, "the cursor is not one this server gave out") from None
