"""``/api/v1/services/{service}/jobs``: add, read, list, wait for and act on jobs.

Each route is a thin adapter: check the caller, call one TaskService verb,
serialise. Sync routes run in the thread pool (the store is blocking). The
submit route is async and hands its job to the group commit, so concurrent
submits share one transaction; the long-poll route is async so a waiting
client holds no thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from remotetask.auth import Action, Principal
from remotetask.errors import InvalidStatusError
from remotetask.jobs import FINISHED, Job, JobQuery, Status
from remotetask.service import Submission, TaskService
from remotetask.web.auth import Authenticator, ReadService, service_for, service_of
from remotetask.web.errors import Problem
from remotetask.web.groupcommit import GroupCommit
from remotetask.web.guard import GuardedRoute, body_schema, parsed_body
from remotetask.web.models import (
    BulkIn,
    BulkOut,
    Cancelled,
    Count,
    JobIdPath,
    JobIn,
    JobOut,
    JobPage,
    Retried,
    Started,
)
from remotetask.web.render import (
    FIELD_LIMIT,
    job_response,
    json_response,
    page_items,
    page_response,
)
from remotetask.web.waiters import TooManyWaiting, Waiters

log = logging.getLogger("remotetask.web")
router = APIRouter(
    prefix="/api/v1/services/{service}/jobs", tags=["jobs"], route_class=GuardedRoute
)

MAX_PAGE = 500
MAX_WAIT = 3600.0
"""The longest ``?wait=`` a request may ask for (the server's ``max_wait`` caps it further)."""
MAX_KEY = 255
BULK_PER_REQUEST = 100
"""A bulk request counts against the rate limit as one request per this many jobs."""
IdempotencyKey = Annotated[str | None, Header(max_length=MAX_KEY + 2)]


@router.post(
    "",
    status_code=201,
    summary="Add a job",
    response_model=JobOut,
    openapi_extra=body_schema(
        JobIn, ("Idempotency-Key", "A repeated key returns the first job instead of adding one")
    ),
)
async def add_job(request: Request) -> Response:
    """Queue a job (``start_later`` parks it, ``delay`` runs it once later).

    With an ``Idempotency-Key`` header a repeated request returns the first job
    (same service, same key) instead of adding another; reusing a key for a
    different task or input is refused with 422. The answer is the job as
    committed: a 201 means it is stored, and a 503 that nothing was stored.
    The hottest route, so it reads its caller and body itself (``service_of``,
    ``parsed_body``) instead of through FastAPI's dependency machinery.
    """
    service = await service_of(request, Action.ADD_JOB)
    body = parsed_body(request, JobIn)
    key = _idempotency_key(request.headers.get("idempotency-key"))
    if body.delay:  # 0 is no delay, as the original: the job is queued at once
        if body.start_later or key is not None:
            raise Problem(422, "delay cannot be combined with start_later or an Idempotency-Key")
        job = await run_in_threadpool(_add_delayed, service, body.task, body.input, body.delay)
    else:
        submission = service.submission(
            body.task, body.input, start_later=body.start_later, idempotency_key=key
        )
        group_commit: GroupCommit = request.app.state.group_commit
        job = await group_commit.submit(service, submission)
        if key is not None and not _same_request(job, submission):
            raise Problem(
                422,
                f"the Idempotency-Key was already used for job {job.id} with another task or input",
                code="idempotency-mismatch",
            )
    log_added(service, job.id, job.task, "http")
    path = request.scope.get("root_path", "") + request.scope["path"]
    location = quote(path, safe="/@") + f"/{job.id}"
    return job_response(job, 201, {"Location": location})


def _same_request(job: Job, submission: Submission) -> bool:
    """Whether the first job under a key came from this request: same task, same input.

    Inputs are compared as stored (a submission holds its input in the stored form),
    so a typed input matches however it was spelled.
    """
    return job.task == submission.task and bool(job.input == submission.input)


def _add_delayed(service: TaskService, task: str, input: Any, delay: float) -> Job:
    return service.job(service.add_cron_job(task, input, delay=delay))


@router.post("/bulk", status_code=201, summary="Add many jobs of one task", response_model=BulkOut)
def add_jobs(
    body: BulkIn,
    service: Annotated[TaskService, Depends(service_for(Action.ADD_JOB))],
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Queue one job per input in one transaction (``TaskService.add_many``); ids in order.

    With an ``Idempotency-Key`` the whole batch is stored once: a repeated
    request returns the same ids (job ``i`` has the key ``<key>/<i>``).
    """
    authenticator: Authenticator = request.app.state.authenticator
    caller: Principal = request.state.caller
    authenticator.limit(caller, request, cost=len(body.inputs) / BULK_PER_REQUEST)
    key = _idempotency_key(idempotency_key)
    if key is not None and len(key) > MAX_KEY - 6:
        raise Problem(400, f"a bulk Idempotency-Key has at most {MAX_KEY - 6} characters")
    ids = service.add_many(body.task, body.inputs, idempotency_key=key)
    log.info("%d jobs added: task %s on %s via http", len(ids), body.task, service.ref)
    return json_response({"ids": ids}, 201)


@router.get("", summary="List jobs", response_model=JobPage)
def list_jobs(
    service: ReadService,
    request: Request,
    status: Annotated[list[Status] | None, Query(max_length=8)] = None,
    task: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """A page of jobs, newest first by default, filtered by status and task.

    Paging is by keyset: pass ``next_cursor`` back as ``cursor``; the ``Link``
    header carries the next page's URL too. Inputs, results, errors and
    tracebacks over 4 KiB are sent as null and named in the item's
    ``truncated`` (read the job for them), and a page stops early at 1 MiB.
    """
    query = JobQuery(
        statuses=frozenset(status or ()),
        task=task,
        newest_first=sort == "newest",
        after_id=_decode_cursor(cursor),
        limit=limit,
    )
    jobs = service.job_summaries(query, FIELD_LIMIT)
    items, last = page_items(jobs)
    more = len(items) < len(jobs) or len(jobs) == limit
    next_cursor = _encode_cursor(last) if more and last is not None else None
    headers = {}
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        headers["Link"] = f'<{url}>; rel="next"'
    return page_response(items, next_cursor, headers)


@router.get(
    "/{job_id}",
    summary="Get a job, optionally waiting until it is finished",
    response_model=JobOut,
)
async def get_job(
    service: ReadService,
    request: Request,
    job_id: JobIdPath,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT, description="Seconds to wait for the end")] = 0,
) -> Response:
    """The job with its status, input, result, error, traceback, attempts, progress and times.

    With ``wait`` the answer comes as soon as the job is finished (completed,
    error or cancelled) or when ``wait`` seconds (capped by the server) have
    passed. A waiting request is woken by the job's end; each token may have
    a limited number of them (429 beyond).
    """
    return await answer_job(service, request, job_id, wait)


async def read_job(service: TaskService, job_id: int) -> Job:
    """The job, read on the event loop where reads never wait (a SQLite file), else in a thread.

    A read by id of a SQLite file in WAL mode takes tens of microseconds and never waits
    for a writer; a thread hand-off costs more than that, on the loop and in the thread.
    """
    if service.reads_never_wait:
        return service.job(job_id)
    return await run_in_threadpool(service.job, job_id)


async def answer_job(service: TaskService, request: Request, job_id: int, wait: float) -> Response:
    """``get_job``'s answer (also called by the fast path, ``web/fastpath.py``).

    A request that may wait registers as a waiter before its first read, so one read
    tells both whether the job is there and whether it has ended yet.
    """
    seconds = min(wait, request.app.state.settings.max_wait)
    if seconds <= 0:
        return job_response(await read_job(service, job_id))
    waiters: Waiters = request.app.state.waiters
    deadline = time.monotonic() + seconds
    try:
        async with waiters.waiting(caller_key(request), service.ref, job_id) as waiter:
            while True:
                waiter.ended.clear()  # before the read: an end during it still wakes the wait
                job, waiter.job = waiter.job, None  # the ended job, handed over once
                if job is None:
                    job = await read_job(service, job_id)
                left = deadline - time.monotonic()
                if job.status in FINISHED or left <= 0:
                    return job_response(job)
                poll = await waiters.poll_seconds(service)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.ended.wait(), min(left, poll))
    except TooManyWaiting:  # an ended job is still answered, as it is without ``wait``
        job = await read_job(service, job_id)
        if job.status in FINISHED:
            return job_response(job)
        raise


@router.post("/{job_id}/cancel", summary="Cancel a job")
def cancel_job(
    service: Annotated[TaskService, Depends(service_for(Action.CANCEL_JOB))],
    request: Request,
    job_id: JobIdPath,
) -> Cancelled:
    """Cancel a waiting job at once or ask a running one to stop; false if it had ended."""
    service.job(job_id)
    cancelled = service.cancel(job_id)
    request.app.state.waiters.wake(service.ref, job_id)
    return Cancelled(cancelled=cancelled)


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


def caller_key(request: Request) -> str:
    """Whose waiters these are: the token, or the client address without auth."""
    caller: Principal = request.state.caller
    if caller.token_id is not None:
        return f"token:{caller.token_id}"
    return request.client.host if request.client is not None else "unknown"


def log_added(service: TaskService, job_id: int, task: str, via: str) -> None:
    """The structured log line of a job added through the web app.

    DEBUG (``-vv``): at a thousand submits a second the INFO line cost a seventh of a
    submit's CPU; the line for each finished job stays at INFO. Its fields are built
    only when DEBUG is on.
    """
    if not log.isEnabledFor(logging.DEBUG):
        return
    log.debug(
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
