"""Adding a job from the UI: a form built from the task's input schema, or a JSON editor."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from remotetask.auth import Action
from remotetask.errors import RemoteTaskError
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
from remotetask.ui.inputs import input_schema, parse_json, schema_fields, value_from_form

MAX_DELAY = 10 * 366 * 24 * 3600.0


def add_page(request: Request) -> Response:
    """Choose a task, then fill in its input (``?task=`` picks it)."""
    current = visit(request)
    svc = service(request, current)
    check(current, Action.ADD_JOB)
    task = request.query_params.get("task", "")
    return _page(request, current, svc, task, {}, {})


@form_action(Action.ADD_JOB)
def add_post(request: Request, current: Visit, form: FormData) -> Response:
    """Add the job (queued, start later, or once after a delay) and show it."""
    svc = service(request, current)
    task = form_text(form, "task")
    values = {key: form_text(form, key) for key in form if isinstance(form.get(key), str)}
    tasks = svc.available_tasks()
    if task not in tasks:
        return _page(request, current, svc, task, values, {"task": "choose a task"})
    fields = schema_fields(input_schema(tasks[task]))
    errors: dict[str, str] = {}
    value: Any = None
    if fields is None:
        try:
            value = parse_json(form_text(form, "input"))
        except ValueError as exc:
            errors["input"] = str(exc)
    else:
        value, errors = value_from_form(fields, form)
    delay = _delay(form_text(form, "delay"), errors)
    start_later = form.get("start_later") is not None
    if delay is not None and start_later:
        errors["delay"] = "a job is either started later by hand or after a delay, not both"
    if errors:
        return _page(request, current, svc, task, values, errors)
    try:
        if delay is not None:
            job_id = svc.add_cron_job(task, value, delay=delay)
        else:
            job_id = svc.add(task, value, start_later=start_later)
    except RemoteTaskError as exc:
        return _page(request, current, svc, task, values, {"input": str(exc)})
    flash(request, current, f"Job {job_id} added.")
    return redirect(url(request, "job", service=str(svc.ref), job_id=job_id))


def _delay(text: str, errors: dict[str, str]) -> float | None:
    if not text:
        return None
    try:
        delay = float(text) if text.isascii() else -1.0
    except ValueError:
        delay = -1.0
    if not 0 < delay <= MAX_DELAY:
        errors["delay"] = "give the delay in seconds, more than 0 and at most ten years"
        return None
    return delay


def _page(
    request: Request,
    current: Visit,
    svc: TaskService,
    task: str,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    tasks = svc.available_tasks()
    chosen = tasks.get(task)
    return render(
        request,
        current,
        "add.html",
        {
            "service": svc,
            "tasks": sorted(tasks),
            "task": task if chosen else "",
            "fields": schema_fields(input_schema(chosen)) if chosen else None,
            "values": values,
            "errors": errors,
        },
        status=400 if errors else 200,
    )
