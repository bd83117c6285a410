"""The jobs table: filters, search, sort, live rows, and actions on ticked or matching jobs.

Actions on ticked jobs act at once and report, job by job, what could not be
done. Actions on every job matching the table's filter go through a
confirmation page that says how many jobs they will touch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from remotetask.auth import Action
from remotetask.errors import InvalidStatusError, JobNotFoundError
from remotetask.jobs import (
    CANCELLABLE,
    CANCELLED,
    COMPLETED,
    ERROR,
    FINISHED,
    PROCESSING,
    Status,
)
from remotetask.service import TaskService
from remotetask.ui.common import (
    Visit,
    check,
    flash,
    form_action,
    form_text,
    redirect,
    render,
    service,
    url,
    visit,
)
from remotetask.ui.filters import CAP
from remotetask.ui.paging import (
    PAGE_SIZES,
    SORT_LABELS,
    JobsView,
    fetch_page,
    matching_ids,
    number,
)

MAX_TICKED = 500


@dataclass(frozen=True)
class Bulk:
    """An action on every job matching the table's filter with one of ``statuses``."""

    action: Action
    verb: str
    done: str
    what: str
    statuses: frozenset[Status]


BULK: dict[str, Bulk] = {
    "cancel": Bulk(
        Action.CANCEL_ALL,
        "Cancel",
        "Cancelled",
        "waiting",
        CANCELLABLE,
    ),
    "retry": Bulk(Action.RETRY_ERRORED, "Retry", "Queued again", "errored", frozenset({ERROR})),
    "remove-completed": Bulk(
        Action.CLEAN, "Remove", "Removed", "completed", frozenset({COMPLETED})
    ),
    "remove-cancelled": Bulk(
        Action.CLEAN, "Remove", "Removed", "cancelled", frozenset({CANCELLED})
    ),
    "remove-error": Bulk(Action.CLEAN, "Remove", "Removed", "errored", frozenset({ERROR})),
    "remove-finished": Bulk(Action.CLEAN, "Remove", "Removed", "finished", FINISHED),
}


def jobs_page(request: Request) -> Response:
    """The jobs table; a live refresh gets only its live part."""
    current = visit(request)
    svc = service(request, current)
    view = JobsView.from_query(request.query_params)
    tasks = set(svc.available_tasks()) | ({view.task} if view.task else set())
    partial = request.headers.get("hx-request") == "true"
    here = url(
        request, "jobs", view.query(after=view.after, before=view.before), service=str(svc.ref)
    )
    return render(
        request,
        current,
        "jobs_live.html" if partial else "jobs.html",
        {
            "service": svc,
            "view": view,
            "page": fetch_page(svc, view),
            "counts": svc.quick_counts(CAP, view.task),
            "statuses": list(Status),
            "tasks": sorted(tasks),
            "page_sizes": PAGE_SIZES,
            "sorts": SORT_LABELS,
            "bulk": {name: b for name, b in BULK.items() if current.principal.may(b.action)},
            "processing": svc.is_processing(),
            "here": here,
        },
    )


_SELECTED: dict[str, tuple[Action, str]] = {
    "cancel": (Action.CANCEL_JOB, "cancel"),
    "retry": (Action.RETRY_JOB, "retry"),
    "start": (Action.START_JOB, "start"),
    "delete": (Action.DELETE_JOB, "remove"),
}


@form_action(Action.READ)
def jobs_selected(request: Request, current: Visit, form: FormData) -> Response:
    """Cancel, retry, start or remove the ticked jobs, then show the same view of the table."""
    svc = service(request, current)
    view = JobsView.from_query(QueryParams(form_text(form, "view")))
    back = url(
        request, "jobs", view.query(after=view.after, before=view.before), service=str(svc.ref)
    )
    name = form_text(form, "action")
    if name not in _SELECTED:
        raise HTTPException(400, f"There is no action {name!r} on selected jobs.")
    action, verb = _SELECTED[name]
    check(current, action)
    ids = list(dict.fromkeys(n for v in form.getlist("ids") if (n := number(str(v)))))
    if not ids:
        flash(request, current, f"No jobs selected: tick the jobs to {verb} first.")
        return redirect(back)
    if len(ids) > MAX_TICKED:
        raise HTTPException(400, f"At most {MAX_TICKED} jobs can be ticked at once.")
    flash(request, current, act_on_each(svc, name, ids))
    return redirect(back)


def act_on_each(svc: TaskService, name: str, ids: list[int]) -> str:
    """Do ``name`` to each job and say what happened, naming the jobs it could not touch."""
    done: list[int] = []
    asked: list[int] = []
    refused: list[str] = []
    for job_id in ids:
        try:
            job = svc.job(job_id)
        except JobNotFoundError:
            refused.append(f"{job_id} (no such job here)")
            continue
        try:
            ok = _VERBS[name](svc, job_id)
        except InvalidStatusError as exc:
            refused.append(f"{job_id} ({exc})")
            continue
        if ok and name == "cancel" and job.status == PROCESSING:
            asked.append(job_id)
        elif ok:
            done.append(job_id)
        else:
            refused.append(f"{job_id} (it is {svc.status(job_id)})")
    past = {"cancel": "Cancelled", "retry": "Queued again", "start": "Started", "delete": "Removed"}
    parts = [f"{past[name]} {jobs_word(len(done))}."] if done or not asked else []
    if asked:
        parts.append(f"Asked {jobs_word(len(asked), 'running job')} to stop.")
    if refused:
        parts.append(f"Not done: {', '.join(refused[:10])}{' …' if len(refused) > 10 else ''}.")
    return " ".join(parts)


_VERBS: dict[str, Callable[[TaskService, int], bool]] = {
    "cancel": lambda svc, job_id: svc.cancel(job_id),
    "retry": lambda svc, job_id: svc.retry(job_id),
    "start": lambda svc, job_id: svc.start_job(job_id),
    "delete": lambda svc, job_id: svc.delete(job_id),
}


def bulk_confirm(request: Request) -> Response:
    """How many jobs a bulk action on the table's filter will touch, with its button."""
    current = visit(request)
    svc = service(request, current)
    name = request.query_params.get("action", "")
    bulk = _bulk(name)
    check(current, bulk.action)
    view = JobsView.from_query(request.query_params)
    if view.task is None and view.search is None:
        counts = svc.quick_counts(CAP)
        counted = min(CAP, sum(counts.get(status, 0) for status in _wanted(view, bulk)))
    else:
        counted = 0
        for _ in matching_ids(svc, view, bulk.statuses, windows=2):
            counted += 1
            if counted >= CAP:
                break
    return render(
        request,
        current,
        "bulk_confirm.html",
        {"service": svc, "name": name, "bulk": bulk, "count": counted, "view": view},
    )


@form_action(Action.READ)
def bulk_run(request: Request, current: Visit, form: FormData) -> Response:
    """Do a bulk action on every job matching the filter and say how many it touched."""
    svc = service(request, current)
    bulk = _bulk(form_text(form, "action"))
    check(current, bulk.action)
    view = JobsView.from_query(QueryParams(form_text(form, "view")))
    plain = view.task is None and view.search is None
    if plain and bulk.verb == "Remove":
        done = svc.clean(_wanted(view, bulk))
    elif plain and bulk.verb == "Cancel" and _wanted(view, bulk) == CANCELLABLE:
        done = svc.cancel_all()
    else:
        verb = _VERBS["delete" if bulk.verb == "Remove" else bulk.verb.lower()]
        done = sum(verb(svc, job_id) for job_id in list(matching_ids(svc, view, bulk.statuses)))
    flash(request, current, f"{bulk.done} {jobs_word(done, bulk.what + ' job')}.")
    return redirect(url(request, "jobs", view.query(), service=str(svc.ref)))


def _wanted(view: JobsView, bulk: Bulk) -> frozenset[Status]:
    return bulk.statuses & frozenset(view.statuses) if view.statuses else bulk.statuses


def _bulk(name: str) -> Bulk:
    bulk = BULK.get(name)
    if bulk is None:
        raise HTTPException(400, f"There is no bulk action {name!r}.")
    return bulk


def jobs_word(count: int, noun: str = "job") -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
