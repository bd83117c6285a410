"""The overview: every service the principal sees, its counts, processing and throughput."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from remotetask.jobs import Status
from remotetask.service import TaskService
from remotetask.ui.common import (
    Visit,
    form_action,
    form_text,
    redirect,
    render,
    service,
    url,
    visit,
)
from remotetask.workers import WorkerInfo

CHART_MINUTES = 60
CHART_WIDTH = 240
CHART_HEIGHT = 40


@dataclass(frozen=True)
class Bar:
    """One minute of the throughput chart, in SVG user units."""

    x: int
    y: int
    height: int
    label: str


@dataclass(frozen=True)
class Chart:
    """Jobs finished (completed or errored) per minute over the last hour."""

    bars: list[Bar]
    total: int
    peak: int
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
    app = request.app.state.ui.app
    workers = app.workers()
    summaries = [
        _summary(svc, app.clock.now(), workers)
        for svc in app.services()
        if current.principal.sees(svc.ref.site)
    ]
    return render(
        request,
        current,
        "overview.html",
        {"summaries": summaries, "tasks": sorted(app.tasks), "statuses": list(Status)},
    )


@form_action("operate")
def processing(request: Request, current: Visit, form: FormData) -> Response:
    """Start or stop the service's processing thread in this server process."""
    svc = service(request, current)
    action = form_text(form, "action")
    if action == "start":
        svc.start_processing()
        current.session.flash(f"Processing of {svc.ref} started.")
    elif action == "stop":
        svc.stop_processing()
        current.session.flash(f"Processing of {svc.ref} stopped; running jobs may finish.")
    else:
        raise HTTPException(400, f"unknown action {action!r}")
    return redirect(url(request, "overview"))


def _summary(svc: TaskService, now: float, workers: list[WorkerInfo]) -> ServiceSummary:
    serving = [w for w in workers if str(svc.ref) in w.services]
    return ServiceSummary(svc, svc.counts(), svc.is_processing(), throughput(svc, now), serving)


def throughput(svc: TaskService, now: float) -> Chart:
    """The last CHART_MINUTES whole minutes plus the current one, oldest on the left."""
    since = (now // 60 - CHART_MINUTES + 1) * 60
    per_minute = svc.throughput(since)
    return chart(per_minute, since)


def chart(per_minute: dict[int, int], since: float) -> Chart:
    """Bars scaled to the busiest minute; each bar carries a tooltip for its minute."""
    counts = [per_minute.get(minute, 0) for minute in range(CHART_MINUTES)]
    peak = max(counts)
    slot = CHART_WIDTH // CHART_MINUTES
    bars = []
    for minute, count in enumerate(counts):
        height = 0 if count == 0 else max(1, round(count / peak * CHART_HEIGHT))
        start = since + minute * 60
        hhmm = f"{int(start // 3600 % 24):02d}:{int(start // 60 % 60):02d}"
        label = f"{hhmm} UTC: {count} job{'' if count == 1 else 's'}"
        bars.append(Bar(minute * slot, CHART_HEIGHT - height, height, label))
    return Chart(bars, sum(counts), peak)
