"""One job: its page (live while it runs), and every action on it, each behind its role.

Destructive actions (cancel, remove, stop) go through a confirmation page first;
it works without JavaScript, like the rest of the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from remotetask.auth import Action
from remotetask.errors import InvalidStatusError, RemoteTaskError
from remotetask.jobs import CRONJOB, DELAYED, ERROR, FINISHED, PROCESSING, Job
from remotetask.ui.common import (
    Visit,
    check,
    flash,
    form_action,
    form_text,
    job_or_404,
    redirect,
    render,
    service,
    url,
    visit,
)
from remotetask.ui.filters import pretty
from remotetask.ui.inputs import parse_json

RUNS_PAGE = 25
STOP_POLLING = 286
"""htmx stops a polling element that gets this status (used once a job has finished)."""


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation page asks before a destructive action on a job."""

    action: Action
    title: str
    button: str
    route: str


CONFIRM: dict[str, Confirmation] = {
    "cancel": Confirmation(Action.CANCEL_JOB, "Cancel job {id}?", "Cancel job {id}", "job_cancel"),
    "delete": Confirmation(Action.DELETE_JOB, "Remove job {id}?", "Remove job {id}", "job_delete"),
}


def job_page(request: Request) -> Response:
    """A job: input, result, error, attempts, times, progress, its runs; live until it ends."""
    current = visit(request)
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    before = _float(request.query_params.get("runs_before"))
    runs = svc.cron_run_page(job.id, RUNS_PAGE + 1, before) if job.schedule else []
    partial = request.headers.get("hx-request") == "true"
    finished = job.status in FINISHED
    return render(
        request,
        current,
        "job_live.html" if partial else "job.html",
        {
            "service": svc,
            "job": job,
            "runs": runs[:RUNS_PAGE],
            "more_runs": runs[RUNS_PAGE].scheduled_for if len(runs) > RUNS_PAGE else None,
            "runs_before": before,
            "attempts": svc.attempt_errors(job.id),
            "live": not finished,
        },
        status=STOP_POLLING if partial and finished else 200,
    )


def job_confirm(request: Request) -> Response:
    """The confirmation page of a destructive action on one job."""
    current = visit(request)
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    what = CONFIRM.get(request.query_params.get("do", ""))
    if what is None:
        raise HTTPException(400, "There is no such action to confirm.")
    check(current, what.action)
    return render(
        request,
        current,
        "confirm.html",
        {
            "service": svc,
            "title": what.title.format(id=job.id),
            "lines": consequences(job, what.action),
            "target": url(request, what.route, service=str(svc.ref), job_id=job.id),
            "button": what.button.format(id=job.id),
            "fields": {},
            "back": url(request, "job", service=str(svc.ref), job_id=job.id),
        },
    )


def consequences(job: Job, action: Action) -> list[str]:
    """What the action will do to this job, in words, for its confirmation page."""
    if action == Action.DELETE_JOB:
        return [f"Job {job.id} ({job.task}, {job.status}) and its history are removed for good."]
    if job.status == PROCESSING:
        return [
            f"Job {job.id} ({job.task}) is running. It is asked to stop; the task ends at "
            "its next check and the job is then cancelled."
        ]
    if job.status == CRONJOB:
        return [f"Cron job {job.id} ({job.task}) stops for good: it will not fire again."]
    return [f"Job {job.id} ({job.task}, {job.status}) will not run."]


@form_action(Action.CANCEL_JOB)
def job_cancel(request: Request, current: Visit, form: FormData) -> Response:
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    if svc.cancel(job.id):
        asked = job.status == PROCESSING
        flash(request, current, f"Job {job.id} {'was asked to stop' if asked else 'is cancelled'}.")
    else:
        flash(request, current, f"Job {job.id} is {svc.status(job.id)} and cannot be cancelled.")
    return _back(request, svc.ref, job.id)


@form_action(Action.RETRY_JOB)
def job_retry(request: Request, current: Visit, form: FormData) -> Response:
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    try:
        retried = svc.retry(job.id)
    except InvalidStatusError as exc:
        raise HTTPException(409, str(exc)) from None
    if retried:
        flash(request, current, f"Job {job.id} is queued again.")
    else:
        flash(request, current, f"Job {job.id} is {svc.status(job.id)}; only errored jobs retry.")
    return _back(request, svc.ref, job.id)


@form_action(Action.START_JOB)
def job_start(request: Request, current: Visit, form: FormData) -> Response:
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    if svc.start_job(job.id):
        flash(request, current, f"Job {job.id} is queued.")
    else:
        flash(
            request, current, f"Job {job.id} is {svc.status(job.id)}; it was not waiting to start."
        )
    return _back(request, svc.ref, job.id)


@form_action(Action.DELETE_JOB)
def job_delete(request: Request, current: Visit, form: FormData) -> Response:
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    if not svc.delete(job.id):
        flash(request, current, f"Job {job.id} is {job.status}; only finished jobs are removed.")
        return _back(request, svc.ref, job.id)
    flash(request, current, f"Job {job.id} is removed.")
    return redirect(url(request, "jobs", service=str(svc.ref)))


@form_action(Action.RUN_NOW)
def job_run_now(request: Request, current: Visit, form: FormData) -> Response:
    """A delayed job runs now instead of later; a cron job runs once now, schedule kept."""
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    if job.status == DELAYED:
        if svc.run_delayed_now(job.id):
            flash(request, current, f"Job {job.id} runs now instead of at its time.")
        return _back(request, svc.ref, job.id)
    if job.status != CRONJOB:
        raise HTTPException(409, f"Job {job.id} is {job.status}, not a cron or delayed job.")
    new_id = svc.add(job.task, job.input)
    flash(request, current, f"Queued job {new_id} with the task and input of cron job {job.id}.")
    return _back(request, svc.ref, new_id)


@form_action(Action.PAUSE_CRON)
def job_pause(request: Request, current: Visit, form: FormData) -> Response:
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    if form_text(form, "do") == "resume":
        done, word = svc.resume(job.id), "resumed: it fires from its next time on"
    else:
        done, word = svc.pause(job.id), "paused: it does not fire until it is resumed"
    flash(request, current, f"Cron job {job.id} is {word}." if done else "Nothing changed.")
    target = form_text(form, "back")
    if target.startswith(url(request, "overview")) and not target.startswith("//"):
        return redirect(target)
    return _back(request, svc.ref, job.id)


def job_edit(request: Request) -> Response:
    """The input of a job in an editor, to retry it with that input or add it as a new job."""
    current = visit(request)
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    check(current, Action.ADD_JOB)
    return _edit_page(request, current, svc.ref, job, None, None)


@form_action(Action.ADD_JOB)
def job_edit_post(request: Request, current: Visit, form: FormData) -> Response:
    """Retry with the edited input (errored jobs), or add a new job with it (a clone)."""
    svc = service(request, current)
    job = job_or_404(svc, request, current)
    text = form_text(form, "input")
    try:
        value = parse_json(text)
    except ValueError as exc:
        return _edit_page(request, current, svc.ref, job, text, str(exc))
    if form_text(form, "do") == "retry":
        check(current, Action.RETRY_JOB)
        try:
            retried = svc.retry_with_input(job.id, value)
        except RemoteTaskError as exc:
            return _edit_page(request, current, svc.ref, job, text, str(exc))
        if not retried:
            return _edit_page(request, current, svc.ref, job, text, "Only errored jobs retry.")
        flash(request, current, f"Job {job.id} is queued again with the new input.")
        return _back(request, svc.ref, job.id)
    try:
        new_id = svc.add(job.task, value)
    except RemoteTaskError as exc:
        return _edit_page(request, current, svc.ref, job, text, str(exc))
    flash(request, current, f"Job {new_id} added: a copy of job {job.id}.")
    return _back(request, svc.ref, new_id)


def _edit_page(
    request: Request,
    current: Visit,
    ref: object,
    job: Job,
    text: str | None,
    error: str | None,
) -> Response:
    return render(
        request,
        current,
        "job_edit.html",
        {
            "service": service(request, current),
            "job": job,
            "text": pretty(job.input) if text is None else text,
            "error": error,
            "can_retry": job.status == ERROR and current.principal.may(Action.RETRY_JOB),
        },
        status=400 if error else 200,
    )


def _back(request: Request, ref: object, job_id: int) -> Response:
    return redirect(url(request, "job", service=str(ref), job_id=job_id))


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) < 1e12 else None
