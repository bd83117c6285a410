"""The schedule board: every cron and delayed job the token may see, in one paged list.

Soonest next run first (jobs not scheduled yet at the top, paused ones last), each
with its schedule in words, its input, and its last outcomes as a strip. The
per-service Cron tab is the same board narrowed to one service. Each page is one
query for the jobs and one for their recent runs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from remotetask.refs import ServiceRef
from remotetask.service import TaskService
from remotetask.ui.common import Visit, render, service, ui, url, visit
from remotetask.ui.paging import number

PAGE = 50
STRIP = 10
"""Outcomes shown per cron job, newest on the right."""


def board_page(request: Request) -> Response:
    """Cron and delayed jobs of every service the token may see."""
    current = visit(request)
    refs = [s.ref for s in ui(request).app.services() if current.principal.sees(s.ref.site)]
    return _board(request, current, refs, None)


def service_board(request: Request) -> Response:
    """The Cron tab of one service: its cron and delayed jobs."""
    current = visit(request)
    svc = service(request, current)
    return _board(request, current, [svc.ref], svc)


def _board(
    request: Request, current: Visit, refs: list[ServiceRef], svc: TaskService | None
) -> Response:
    app = ui(request).app
    search = (request.query_params.get("q") or "").strip()[:200] or None
    after = number(request.query_params.get("after"))
    rows = app.schedule_board(refs, search, after, PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    runs = app.recent_runs([job.id for job in rows], STRIP)
    last = rows[-1] if rows else None
    next_after = last.id if more and last is not None else None
    here = url(request, "cron", service=str(svc.ref)) if svc else url(request, "schedules")
    return render(
        request,
        current,
        "schedules.html",
        {
            "service": svc,
            "rows": [(job, list(reversed(runs.get(job.id, [])))) for job in rows],
            "search": search or "",
            "next_after": next_after,
            "paged": after is not None,
            "here": here,
            "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "tab": "cron",
        },
    )
