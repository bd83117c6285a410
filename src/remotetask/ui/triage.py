"""Failure triage: a service's errored jobs grouped by task, exception type and message.

Each group shows how many jobs failed that way, when it was first and last seen,
a few sample jobs and the newest full message, with retry and remove for the
whole group (remove is confirmed first).
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from remotetask.auth import Action
from remotetask.failures import ErrorGroup
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
from remotetask.ui.jobs import jobs_word

GROUPS = 100


def triage_page(request: Request) -> Response:
    current = visit(request)
    svc = service(request, current)
    return render(
        request,
        current,
        "triage.html",
        {"service": svc, "groups": svc.error_groups(GROUPS), "tab": "errors"},
    )


def group_confirm(request: Request) -> Response:
    """Confirm removing every errored job of a group."""
    current = visit(request)
    svc = service(request, current)
    check(current, Action.CLEAN)
    group = _group(
        svc,
        request.query_params.get("task", ""),
        request.query_params.get("type", ""),
        request.query_params.get("pattern", ""),
    )
    return render(
        request,
        current,
        "confirm.html",
        {
            "service": svc,
            "title": f"Remove {jobs_word(group.count, 'errored job')}?",
            "lines": [
                f"Every errored {group.task} job of {svc.ref} that failed with "
                f"{group.error_type or 'an error'}: {group.pattern}",
                "They are removed for good, with their histories.",
            ],
            "target": url(request, "triage_post", service=str(svc.ref)),
            "button": f"Remove {jobs_word(group.count)}",
            "fields": {
                "do": "remove",
                "task": group.task,
                "type": group.error_type or "",
                "pattern": group.pattern,
            },
            "back": url(request, "triage", service=str(svc.ref)),
        },
    )


@form_action(Action.READ)
def group_action(request: Request, current: Visit, form: FormData) -> Response:
    """Retry or remove every errored job of one group."""
    svc = service(request, current)
    task, kind, pattern = form_text(form, "task"), form_text(form, "type"), form.get("pattern")
    pattern_text = pattern if isinstance(pattern, str) else ""
    if form_text(form, "do") == "retry":
        check(current, Action.RETRY_ERRORED)
        done = svc.retry_error_group(task, kind or None, pattern_text)
        flash(request, current, f"Queued again {jobs_word(done, 'errored job')} of {task}.")
    elif form_text(form, "do") == "remove":
        check(current, Action.CLEAN)
        done = svc.remove_error_group(task, kind or None, pattern_text)
        flash(request, current, f"Removed {jobs_word(done, 'errored job')} of {task}.")
    else:
        raise HTTPException(400, "Choose retry or remove.")
    return redirect(url(request, "triage", service=str(svc.ref)))


def _group(svc: TaskService, task: str, kind: str, pattern: str) -> ErrorGroup:
    for group in svc.error_groups(GROUPS):
        if (group.task, group.error_type or "", group.pattern) == (task, kind, pattern):
            return group
    raise HTTPException(404, "There is no such group of errored jobs (any more).")
