"""Cron jobs: the list, the add and edit forms with a preview of the next runs.

A schedule is given one of three ways, as in ``add_cron_job``: the original's
field sets (UTC; ``*`` or empty means every value, else comma-separated
numbers), a crontab expression with an IANA timezone, or a one-shot delay.
The preview computes the next five times on the server; nothing is stored
until "Save".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from remotetask import jsonvalue
from remotetask.errors import InvalidScheduleError, InvalidStatusError, RemoteTaskError
from remotetask.jobs import CRONJOB, DELAYED, CronRun, Job, JobQuery
from remotetask.schedule import Schedule
from remotetask.service import TaskService
from remotetask.ui.common import (
    Visit,
    form_action,
    form_text,
    job_or_404,
    redirect,
    render,
    service,
    url,
    visit,
)

FORM_FIELDS: Final = (
    ("minute", "Minute", "0 to 59"),
    ("hour", "Hour", "0 to 23"),
    ("day_of_month", "Day of month", "1 to 31"),
    ("month", "Month", "1 to 12"),
    ("day_of_week", "Day of week", "0 = Monday … 6 = Sunday"),
)
KINDS: Final = ("fields", "cron", "delay")
PREVIEW_COUNT: Final = 5


@dataclass
class CronForm:
    """The form's raw values (to show them again) and what is wrong with them."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    schedule: Schedule | None = None
    input: Any = None

    @property
    def kind(self) -> str:
        return self.values.get("kind", "fields")


def cron_list(request: Request) -> Response:
    """Every waiting cron and delayed job of the service with its last run."""
    current = visit(request)
    svc = service(request, current)
    jobs = svc.list_jobs(JobQuery(frozenset({CRONJOB, DELAYED}), None, False, None, 500))
    rows: list[tuple[Job, CronRun | None]] = []
    for job in jobs:
        runs = svc.cron_runs(job.id, 1)
        rows.append((job, runs[0] if runs else None))
    return render(request, current, "cron.html", {"service": svc, "rows": rows})


def cron_new(request: Request) -> Response:
    current = visit(request)
    svc = service(request, current)
    blank = CronForm({"kind": "fields", "timezone": "UTC", "input": "null"})
    blank.values.update({name: "*" for name, _, _ in FORM_FIELDS})
    return _form_page(request, current, svc, blank, None)


@form_action("submit")
def cron_new_post(request: Request, current: Visit, form: FormData) -> Response:
    """Preview the schedule, or add the cron job and show it."""
    svc = service(request, current)
    parsed = parse(form, with_input=True)
    task = parsed.values["task"] = form_text(form, "task")
    if task not in svc.available_tasks():
        parsed.errors["task"] = "choose one of the available tasks"
    if parsed.errors or form_text(form, "do") != "save":
        return _form_page(request, current, svc, parsed, None)
    assert parsed.schedule is not None
    job_id = svc.add_cron_job(task, parsed.input, **schedule_arguments(parsed.schedule))
    current.session.flash(f"Cron job {job_id} added: {parsed.schedule.describe()}.")
    return redirect(url(request, "job", service=str(svc.ref), job_id=job_id))


def cron_edit(request: Request) -> Response:
    current = visit(request)
    svc = service(request, current)
    job = _cron_job(svc, request)
    assert job.schedule is not None
    return _form_page(request, current, svc, form_of(job.schedule), job)


@form_action("operate")
def cron_edit_post(request: Request, current: Visit, form: FormData) -> Response:
    """Preview the new schedule, or store it and reschedule the job."""
    svc = service(request, current)
    job = _cron_job(svc, request)
    parsed = parse(form, with_input=False)
    if parsed.schedule is not None and parsed.schedule.is_delay != (job.status == DELAYED):
        parsed.errors["kind"] = (
            "a delayed job stays delayed and a cron job stays a cron job; "
            "cancel it and add a new one instead"
        )
    if parsed.errors or form_text(form, "do") != "save":
        return _form_page(request, current, svc, parsed, job)
    assert parsed.schedule is not None
    try:
        schedule = svc.update_cron_job(job.id, **schedule_arguments(parsed.schedule))
    except (InvalidStatusError, InvalidScheduleError) as exc:
        parsed.errors["schedule"] = str(exc)
        return _form_page(request, current, svc, parsed, job)
    current.session.flash(f"Job {job.id} rescheduled: {schedule.describe()}.")
    return redirect(url(request, "job", service=str(svc.ref), job_id=job.id))


def parse(form: FormData, *, with_input: bool) -> CronForm:
    """Read and check a cron form; on success ``schedule`` (and ``input``) are set."""
    names = ["kind", "cron", "timezone", "delay", "input", *(name for name, _, _ in FORM_FIELDS)]
    parsed = CronForm({name: form_text(form, name) for name in names})
    kind = parsed.kind
    if kind not in KINDS:
        parsed.errors["kind"] = "choose how the job is scheduled"
        return parsed
    arguments: dict[str, Any] = {}
    if kind == "fields":
        for name, label, _ in FORM_FIELDS:
            try:
                arguments[name] = field_set(parsed.values[name])
            except ValueError:
                parsed.errors[name] = f"{label}: use * or comma-separated numbers"
    elif kind == "cron":
        arguments["cron"] = parsed.values["cron"]
        arguments["timezone"] = parsed.values["timezone"] or "UTC"
    else:
        try:
            arguments["delay"] = float(parsed.values["delay"])
        except ValueError:
            parsed.errors["delay"] = "give the delay in seconds"
    if with_input:
        try:
            parsed.input = jsonvalue.parse(parsed.values["input"] or "null", "input")
        except ValueError as exc:
            parsed.errors["input"] = str(exc)
    if not parsed.errors:
        try:
            parsed.schedule = Schedule(**arguments)
        except RemoteTaskError as exc:
            parsed.errors["schedule"] = str(exc)
    return parsed


def field_set(text: str) -> tuple[int, ...]:
    """``*`` or nothing: every value (an empty set); otherwise comma-separated numbers."""
    text = text.strip()
    if text in ("", "*"):
        return ()
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts):
        raise ValueError(text)
    return tuple(int(part) for part in parts)


def form_of(schedule: Schedule) -> CronForm:
    """A form showing an existing schedule."""
    kind = "delay" if schedule.is_delay else "cron" if schedule.cron else "fields"
    values = {
        "kind": kind,
        "cron": schedule.cron or "",
        "timezone": schedule.timezone,
        "delay": "" if schedule.delay is None else f"{schedule.delay:g}",
    }
    for name, _, _ in FORM_FIELDS:
        chosen: tuple[int, ...] = getattr(schedule, name)
        values[name] = ",".join(str(v) for v in chosen) if chosen else "*"
    return CronForm(values, schedule=schedule)


def schedule_arguments(schedule: Schedule) -> dict[str, Any]:
    """Every schedule field, so an update replaces the whole schedule, not a part of it."""
    return {
        **{name: getattr(schedule, name) for name, _, _ in FORM_FIELDS},
        "delay": schedule.delay,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
    }


def preview(schedule: Schedule, now: float) -> list[str]:
    """The next PREVIEW_COUNT run times after ``now``, in UTC and in the schedule's zone."""
    times: list[str] = []
    moment: float | None = now
    zone = ZoneInfo(schedule.timezone)
    for _ in range(1 if schedule.is_delay else PREVIEW_COUNT):
        moment = schedule.next_after(moment) if moment is not None else None
        if moment is None:
            break
        text = datetime.fromtimestamp(moment, ZoneInfo("UTC")).strftime("%a %Y-%m-%d %H:%M UTC")
        if schedule.timezone != "UTC":
            local = datetime.fromtimestamp(moment, zone).strftime("%a %Y-%m-%d %H:%M %Z")
            text = f"{local} ({text})"
        times.append(text)
    return times


def _form_page(
    request: Request, current: Visit, svc: TaskService, form: CronForm, job: Job | None
) -> Response:
    now = svc.clock.now()
    return render(
        request,
        current,
        "cron_form.html",
        {
            "service": svc,
            "job": job,
            "form": form,
            "fields": FORM_FIELDS,
            "tasks": sorted(svc.available_tasks()),
            "preview": preview(form.schedule, now) if form.schedule is not None else None,
        },
        status=400 if form.errors else 200,
    )


def _cron_job(svc: TaskService, request: Request) -> Job:
    job = job_or_404(svc, request)
    if job.schedule is None or job.status not in (CRONJOB, DELAYED):
        raise HTTPException(404, f"job {job.id} is not a waiting cron or delayed job")
    return job
