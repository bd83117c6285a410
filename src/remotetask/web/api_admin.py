"""``/api/v1``: tasks, services and processing, cron jobs, and cleaning.

Creating services, cron jobs and cleaning need the admin role; starting and
stopping processing need operate; reading needs read.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from remotetask.app import App
from remotetask.auth import Action, Principal
from remotetask.errors import InvalidReferenceError, InvalidStatusError, JobNotFoundError
from remotetask.jobs import CRONJOB, DELAYED, JobQuery
from remotetask.refs import ServiceRef
from remotetask.service import TaskService
from remotetask.tasks import Task
from remotetask.web.auth import ReadService, require, service_for
from remotetask.web.errors import Problem
from remotetask.web.guard import GuardedRoute
from remotetask.web.models import (
    CleanIn,
    Count,
    CronJobIn,
    CronJobPatch,
    CronScheduleIn,
    JobIdPath,
    JobOut,
    ProcessingOut,
    ServiceIn,
    ServiceOut,
    TaskOut,
)
from remotetask.web.render import FIELD_LIMIT, encode, job_response, list_response, listed

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)

MAX_CRON_LIST = 1000


def describe(task: Task) -> TaskOut:
    """A task's name, the first line of its docstring, and its input and result schemas."""
    doc = inspect.getdoc(task.func) or ""
    return TaskOut(
        name=task.name,
        description=doc.splitlines()[0] if doc else "",
        input_schema=task.input_schema,
        result_schema=task.result_schema,
    )


def service_out(service: TaskService) -> ServiceOut:
    counts = {str(status): count for status, count in service.counts().items()}
    return ServiceOut(
        ref=str(service.ref),
        site=service.ref.site,
        name=service.ref.name,
        processing=service.is_processing(),
        counts=counts,
    )


@router.get("/tasks", tags=["tasks"], summary="List the tasks this server can run")
def list_tasks(
    request: Request, _: Annotated[Principal, Depends(require(Action.READ))]
) -> list[TaskOut]:
    app: App = request.app.state.app
    return [describe(task) for task in sorted(app.tasks.values(), key=lambda t: t.name)]


@router.get("/services/{service}/tasks", tags=["tasks"], summary="List a service's tasks")
def service_tasks(service: ReadService) -> list[TaskOut]:
    tasks = service.available_tasks()
    return [describe(tasks[name]) for name in sorted(tasks)]


@router.get("/services", tags=["services"], summary="List the services the token may see")
def list_services(
    request: Request, caller: Annotated[Principal, Depends(require(Action.READ))]
) -> list[ServiceOut]:
    app: App = request.app.state.app
    return [service_out(s) for s in app.services() if caller.sees(s.ref.site)]


@router.post("/services", tags=["services"], status_code=201, summary="Create a service")
def create_service(
    body: ServiceIn,
    request: Request,
    caller: Annotated[Principal, Depends(require(Action.CREATE_SERVICE))],
) -> ServiceOut:
    try:
        ref = ServiceRef.parse(body.ref)
    except InvalidReferenceError as exc:
        raise Problem(422, str(exc), code="invalid-reference") from None
    if not caller.sees(ref.site):
        raise Problem(403, f"the token may not create services in site {ref.site_label!r}")
    app: App = request.app.state.app
    return service_out(app.add_service(ref))


@router.get("/services/{service}", tags=["services"], summary="A service and its job counts")
def get_service(service: ReadService) -> ServiceOut:
    return service_out(service)


@router.post("/services/{service}/processing/start", tags=["services"], summary="Start processing")
def start_processing(
    service: Annotated[TaskService, Depends(service_for(Action.PROCESSING))],
) -> ProcessingOut:
    service.start_processing()
    return ProcessingOut(processing=service.is_processing())


@router.post("/services/{service}/processing/stop", tags=["services"], summary="Stop processing")
def stop_processing(
    service: Annotated[TaskService, Depends(service_for(Action.PROCESSING))],
) -> ProcessingOut:
    """Stop claiming jobs; running ones get the grace period, then return to the queue."""
    service.stop_processing()
    return ProcessingOut(processing=service.is_processing())


@router.post("/services/{service}/clean", tags=["jobs"], summary="Remove finished jobs")
def clean(
    service: Annotated[TaskService, Depends(service_for(Action.CLEAN))], body: CleanIn | None = None
) -> Count:
    """Remove jobs with the given finished statuses (default all three); returns how many."""
    statuses = (body or CleanIn()).statuses
    try:
        return Count(count=service.clean(statuses))
    except InvalidStatusError as exc:
        raise Problem(422, str(exc), code="invalid-status") from None


@router.post(
    "/services/{service}/cron-jobs",
    tags=["cron"],
    status_code=201,
    summary="Add a cron job",
    response_model=JobOut,
)
def add_cron_job(
    service: Annotated[TaskService, Depends(service_for(Action.ADD_CRON))], body: CronJobIn
) -> Response:
    """Fields sets (as the original) or a crontab expression with a time zone."""
    job_id = service.add_cron_job(
        body.task,
        body.input,
        minute=body.minute,
        hour=body.hour,
        day_of_month=body.day_of_month,
        month=body.month,
        day_of_week=body.day_of_week,
        cron=body.cron,
        timezone=body.timezone,
    )
    return job_response(service.job(job_id), 201)


@router.get(
    "/services/{service}/cron-jobs",
    tags=["cron"],
    summary="List cron and delayed jobs",
    response_model=list[JobOut],
)
def list_cron_jobs(service: ReadService) -> Response:
    """Waiting cron and delayed jobs with their schedule and ``next_call`` (null until the
    first processing pass after they were added or changed). Large values are
    summarised as in the jobs list (null, named in ``truncated``)."""
    query = JobQuery(
        statuses=frozenset({CRONJOB, DELAYED}), newest_first=False, limit=MAX_CRON_LIST
    )
    summaries = service.job_summaries(query, FIELD_LIMIT)
    return list_response([encode(listed(job, cut)) for job, cut in summaries])


@router.get(
    "/services/{service}/cron-jobs/{job_id}",
    tags=["cron"],
    summary="Get a cron job",
    response_model=JobOut,
)
def get_cron_job(service: ReadService, job_id: JobIdPath) -> Response:
    job = service.job(job_id)
    if job.schedule is None:
        raise JobNotFoundError(f"job {job_id} of {service.ref} is not a cron or delayed job")
    return job_response(job)


ChangeCronService = Annotated[TaskService, Depends(service_for(Action.CHANGE_CRON))]


@router.put(
    "/services/{service}/cron-jobs/{job_id}/schedule",
    tags=["cron"],
    summary="Replace a cron job's schedule",
    response_model=JobOut,
)
def update_cron_job(
    service: ChangeCronService, job_id: JobIdPath, body: CronScheduleIn
) -> Response:
    """Replace the whole schedule and reschedule the job (the original's ``update``).

    Fields not given take their defaults, so ``{"minute": [5]}`` drops an hour set
    before. A cron job stays a cron job, a delayed job stays delayed.
    """
    service.update_cron_job(job_id, **body.model_dump())
    return job_response(service.job(job_id))


@router.patch(
    "/services/{service}/cron-jobs/{job_id}",
    tags=["cron"],
    summary="Change some schedule fields",
    response_model=JobOut,
)
def change_cron_job(service: ChangeCronService, job_id: JobIdPath, body: CronJobPatch) -> Response:
    """Change only the schedule fields given, keep the others, and reschedule the job."""
    fields: dict[str, Any] = body.model_dump(exclude_unset=True)
    service.change_cron_job(job_id, **fields)
    return job_response(service.job(job_id))
