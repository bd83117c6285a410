"""The overview: every service the principal sees, its counts, processing and throughput.

Counts stop at a cap and the chart reads only the jobs that ended in the last
hour, so the page costs the same on a service with a million jobs as on a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from remotetask.auth import Action
from remotetask.jobs import Status
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
    ui,
    url,
    visit,
)
from remotetask.ui.filters import CAP
from remotetask.workers import WorkerInfo

CHART_MINUTES = 60
CHART_WIDTH = 300
CHART_HEIGHT = 60
TOP = 4
"""Room above the bars, in SVG units."""


@dataclass(frozen=True)
class Bar:
    """One minute of the chart: completed on the bottom, errored stacked on top."""

    x: int
    done_y: float
    done_height: float
    failed_y: float
    failed_height: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Jobs finished (completed and errored) per minute over the last hour."""

    bars: list[Bar]
    total: int
    failed: int
    peak: int
    ticks: list[tuple[int, str]]
    """(x, "HH:MM") under the axis."""
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT


@dataclass(frozen=True)
class ServiceSummary:
    service: TaskService
    counts: dict[Status, int]
    processing: bool
    chart: Chart
    workers: list[WorkerInfo]
    """Worker processes whose heartbeat says they process this service."""


def overview_page(request: Request) -> Response:
    current = visit(request)
    app = ui(request).app
    workers = app.workers()
    now = app.clock.now()
    summaries = [
        _summary(svc, now, workers)
        for svc in app.services()
        if current.principal.sees(svc.ref.site)
    ]
    partial = request.headers.get("hx-request") == "true"
    return render(
        request,
        current,
        "overview_live.html" if partial else "overview.html",
        {"summaries": summaries, "tasks": sorted(app.tasks), "statuses": list(Status)},
    )


def processing_confirm(request: Request) -> Response:
    """Stopping processing asks first: running jobs get the grace period, then go back."""
    current = visit(request)
    svc = service(request, current)
    check(current, Action.PROCESSING)
    return render(
        request,
        current,
        "confirm.html",
        {
            "service": svc,
            "title": f"Stop processing {svc.ref}?",
            "lines": [
                "No new job starts in this server process until processing is started again.",
                "Running jobs get the shutdown grace period to finish, then go back to the queue.",
            ],
            "target": url(request, "processing", service=str(svc.ref)),
            "button": "Stop processing",
            "fields": {"action": "stop"},
            "back": url(request, "overview"),
        },
    )


@form_action(Action.PROCESSING)
def processing(request: Request, current: Visit, form: FormData) -> Response:
    """Start or stop the service's processing thread in this server process."""
    svc = service(request, current)
    action = form_text(form, "action")
    if action == "start":
        svc.start_processing()
        flash(request, current, f"Processing of {svc.ref} started.")
    elif action == "stop":
        svc.stop_processing()
        flash(request, current, f"Processing of {svc.ref} stopped; running jobs may finish.")
    else:
        raise HTTPException(400, f"There is no processing action {action!r}.")
    back = form_text(form, "back")
    home = url(request, "overview")
    return redirect(back if back.startswith(home) and not back.startswith("//") else home)


def _summary(svc: TaskService, now: float, workers: list[WorkerInfo]) -> ServiceSummary:
    serving = [w for w in workers if str(svc.ref) in w.services]
    return ServiceSummary(
        svc, svc.quick_counts(CAP), svc.is_processing(), throughput(svc, now), serving
    )


def throughput(svc: TaskService, now: float) -> Chart:
    """The last CHART_MINUTES whole minutes plus the current one, oldest on the left."""
    since = (now // 60 - CHART_MINUTES + 1) * 60
    return chart(svc.throughput(since), since)


def chart(per_minute: dict[int, tuple[int, int]], since: float) -> Chart:
    """Stacked bars scaled to the busiest minute, a tooltip each, and time ticks."""
    counts = [per_minute.get(minute, (0, 0)) for minute in range(CHART_MINUTES)]
    peak = max(done + failed for done, failed in counts)
    slot = CHART_WIDTH // CHART_MINUTES
    room = CHART_HEIGHT - TOP
    bars = []
    ticks = []
    for minute, (done, failed) in enumerate(counts):
        scale = room / peak if peak else 0.0
        done_height = done * scale
        failed_height = failed * scale
        start = since + minute * 60
        hhmm = f"{int(start // 3600 % 24):02d}:{int(start // 60 % 60):02d}"
        if minute % 15 == 0:
            ticks.append((minute * slot, hhmm))
        label = f"{hhmm} UTC: {done} completed, {failed} errored"
        bars.append(
            Bar(
                minute * slot,
                round(CHART_HEIGHT - done_height, 2),
                round(done_height, 2),
                round(CHART_HEIGHT - done_height - failed_height, 2),
                round(failed_height, 2),
                label,
            )
        )
    total = sum(done + failed for done, failed in counts)
    failed_total = sum(failed for _, failed in counts)
    return Chart(bars, total, failed_total, peak, ticks)
