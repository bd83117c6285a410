"""The jobs table, a job's page, and the actions on jobs (selected, all, one).

Actions on selected jobs act at once (the user ticked them); actions on all
jobs of a service go through a confirmation page that shows how many jobs
they will touch. Bulk actions cover the whole service, whatever the table's
filter; the confirmation page says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from remotetask.jobs import (
    CANCELLABLE,
    CANCELLED,
    COMPLETED,
    CRONJOB,
    DELAYED,
    ERROR,
    FINISHED,
    PROCESSING,
    JobQuery,
    Status,
)
from remotetask.service import TaskService
from remotetask.ui.common import (
    Visit,
    check_role,
    form_action,
    form_text,
    job_or_404,
    redirect,
    render,
    service,
    url,
    visit,
)
from remotetask.ui.paging import PAGE_SIZES, JobsView, fetch_page


@dataclass(frozen=True)
class Bulk:
    """An action on every job of a service with one of ``statuses``."""

    verb: str
    done: str
    what: str
    statuses: frozenset[Status]


BULK: dict[str, Bulk] = {
    "cancel-all": Bulk("Cancel", "Cancelled", "waiting or running", CANCELLABLE | {PROCESSING}),
    "retry-errored": Bulk("Retry", "Queued again", "errored", frozenset({ERROR})),
    "remove-completed": Bulk("Remove", "Removed", "completed", frozenset({COMPLETED})),
    "remove-cancelled": Bulk("Remove", "Removed", "cancelled", frozenset({CANCELLED})),
    "remove-error": Bulk("Remove", "Removed", "errored", frozenset({ERROR})),
    "remove-finished": Bulk("Remove", "Removed", "completed, cancelled or errored", FINISHED),
}


def jobs_page(request: Request) -> Response:
    """The jobs table; an htmx refresh gets only its live part."""
    current = visit(request)
    svc = service(request, current)
    view = JobsView.from_query(request.query_params)
    tasks = set(svc.available_tasks()) | ({view.task} if view.task else set())
    partial = request.headers.get("hx-request") == "true"
    return render(
        request,
        current,
        "jobs_live.html" if partial else "jobs.html",
        {
            "service": svc,
            "view": view,
            "page": fetch_page(svc, view),
            "counts": svc.counts(),
            "statuses": list(Status),
            "tasks": sorted(tasks),
            "page_sizes": PAGE_SIZES,
            "bulk": BULK,
            "here": url(
                request,
                "jobs",
                view.query(after=view.after, before=view.before),
                service=str(svc.ref),
            ),
        },
    )


@form_action("operate")
def jobs_selected(request: Request, current: Visit, form: FormData) -> Response:
    """Cancel or retry the ticked jobs, then show the same view of the table."""
    svc = service(request, current)
    view = JobsView.from_query(QueryParams(form_text(form, "view")))
    back = url(
        request, "jobs", view.query(after=view.after, before=view.before), service=str(svc.ref)
    )
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
    action = form_text(form, "action")
    if action not in ("cancel", "retry"):
        raise HTTPException(400, f"unknown action {action!r}")
    if not ids:
        current.session.flash(f"No jobs selected: tick the jobs to {action} first.")
        return redirect(back)
    verb: Callable[[int], bool] = svc.cancel if action == "cancel" else svc.retry
    done = sum(verb(job_id) for job_id in ids)
    past = "Cancelled" if action == "cancel" else "Queued again"
    note = "" if done == len(ids) else f" of {len(ids)} selected (the others could not be)"
    current.session.flash(f"{past} {_jobs(done)}{note}.")
    return redirect(back)


def bulk_confirm(request: Request) -> Response:
    """How many jobs a bulk action will touch, with the button that does it."""
    current = visit(request)
    check_role(current, "operate")
    svc = service(request, current)
    name = request.query_params.get("action", "")
    action = _bulk(name)
    counts = svc.counts()
    count = sum(counts.get(status, 0) for status in action.statuses)
    return render(
        request,
        current,
        "confirm.html",
        {"service": svc, "name": name, "action": action, "count": count},
    )


@form_action("operate")
def bulk_run(request: Request, current: Visit, form: FormData) -> Response:
    """Do a bulk action and say how many jobs it touched."""
    svc = service(request, current)
    action = _bulk(form_text(form, "action"))
    if action.verb == "Remove":
        done = svc.clean(action.statuses)
    else:
        verb = svc.cancel if action.verb == "Cancel" else svc.retry
        done = sum(verb(job_id) for job_id in _ids(svc, action.statuses))
    current.session.flash(f"{action.done} {_jobs(done)} ({action.what}).")
    return redirect(url(request, "jobs", service=str(svc.ref)))


def job_page(request: Request) -> Response:
    """One job: input, result, error, traceback, times, progress and its cron runs."""
    current = visit(request)
    svc = service(request, current)
    job = job_or_404(svc, request)
    runs = svc.cron_runs(job.id) if job.schedule is not None else []
    return render(request, current, "job.html", {"service": svc, "job": job, "runs": runs})


@form_action("operate")
def job_cancel(request: Request, current: Visit, form: FormData) -> Response:
    svc = service(request, current)
    job = job_or_404(svc, request)
    if svc.cancel(job.id):
        asked = job.status == PROCESSING
        current.session.flash(f"Job {job.id} {'was asked to stop' if asked else 'is cancelled'}.")
    else:
        current.session.flash(f"Job {job.id} is {svc.status(job.id)} and cannot be cancelled.")
    return redirect(url(request, "job", service=str(svc.ref), job_id=job.id))


@form_action("operate")
def job_retry(request: Request, current: Visit, form: FormData) -> Response:
    svc = service(request, current)
    job = job_or_404(svc, request)
    if svc.retry(job.id):
        current.session.flash(f"Job {job.id} is queued again.")
    else:
        current.session.flash(f"Job {job.id} is {svc.status(job.id)}; only errored jobs retry.")
    return redirect(url(request, "job", service=str(svc.ref), job_id=job.id))


@form_action("operate")
def job_run_now(request: Request, current: Visit, form: FormData) -> Response:
    """Queue a one-off job with a cron job's task and input; the schedule is untouched."""
    svc = service(request, current)
    job = job_or_404(svc, request)
    if job.status not in (CRONJOB, DELAYED):
        raise HTTPException(400, f"job {job.id} is not a cron or delayed job")
    new_id = svc.add(job.task, job.input)
    current.session.flash(f"Queued job {new_id} with the task and input of job {job.id}.")
    return redirect(url(request, "job", service=str(svc.ref), job_id=new_id))


def _bulk(name: str) -> Bulk:
    action = BULK.get(name)
    if action is None:
        raise HTTPException(400, f"unknown bulk action {name!r}")
    return action


def _ids(svc: TaskService, statuses: frozenset[Status]) -> Iterator[int]:
    """Ids of the service's jobs with these statuses, oldest first, read page by page."""
    cursor: int | None = None
    while True:
        page = svc.list_jobs(JobQuery(statuses, None, False, cursor, 500))
        yield from (job.id for job in page)
        if len(page) < 500:
            return
        cursor = page[-1].id


def _jobs(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"
