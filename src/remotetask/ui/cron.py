"""Cron jobs: the list, the add and edit forms with a preview of the next runs.

A schedule is given one of three ways, as in ``add_cron_job``: the original's
field sets (UTC; ``*`` or empty means every value, else numbers separated by
commas or spaces), a crontab expression with an IANA timezone, or a one-shot
delay. Only the block of the chosen way is shown and read.
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

from remotetask.auth import Action
from remotetask.errors import (
    InvalidInputError,
    InvalidScheduleError,
    InvalidStatusError,
    RemoteTaskError,
)
from remotetask.jobs import CRONJOB, DELAYED, Job
from remotetask.schedule import Schedule, field_text, parse_field
from remotetask.service import TaskService
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
from remotetask.ui.filters import describe
from remotetask.ui.inputs import parse_json

FORM_FIELDS: Final = (
    ("minute", "Minute", "0 to 59"),
    ("hour", "Hour", "0 to 23"),
    ("day_of_month", "Day of month", "1 to 31"),
    ("month", "Month", "1 to 12"),
    ("day_of_week", "Day of week", "0 = Monday … 6 = Sunday"),
)
KINDS: Final = ("fields", "cron", "delay")
MAX_DELAY: Final = 10 * 366 * 24 * 3600.0
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


def cron_new(request: Request) -> Response:
    current = visit(request)
    svc = service(request, current)
    check(current, Action.ADD_CRON)
    blank = CronForm({"kind": "fields", "timezone": "UTC", "input": "null"})
    blank.values.update({name: "*" for name, _, _ in FORM_FIELDS})
    return _form_page(request, current, svc, blank, None)


@form_action(Action.ADD_CRON)
def cron_new_post(request: Request, current: Visit, form: FormData) -> Response:
    """Preview the schedule, or add the cron job and show it."""
    svc = service(request, current)
    parsed = parse(form, with_input=True)
    task = parsed.values["task"] = form_text(form, "task")
    if task not in svc.available_tasks() and form_text(form, "do") == "save":
        parsed.errors["task"] = "choose one of the available tasks"
    if parsed.errors or form_text(form, "do") != "save":
        return _form_page(request, current, svc, parsed, None)
    assert parsed.schedule is not None
    try:
        job_id = svc.add_cron_job(task, parsed.input, **schedule_arguments(parsed.schedule))
    except InvalidInputError as exc:  # a typed task refused the input: nothing was stored
        parsed.errors["input"] = str(exc)
        return _form_page(request, current, svc, parsed, None)
    flash(request, current, f"Cron job {job_id} added: {describe(parsed.schedule)}.")
    return redirect(url(request, "job", service=str(svc.ref), job_id=job_id))


def cron_edit(request: Request) -> Response:
    current = visit(request)
    svc = service(request, current)
    check(current, Action.CHANGE_CRON)
    job = _cron_job(svc, request, current)
    assert job.schedule is not None
    return _form_page(request, current, svc, form_of(job.schedule), job)


@form_action(Action.CHANGE_CRON)
def cron_edit_post(request: Request, current: Visit, form: FormData) -> Response:
    """Preview the new schedule, or store it and reschedule the job."""
    svc = service(request, current)
    job = _cron_job(svc, request, current)
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
    flash(request, current, f"Job {job.id} rescheduled: {describe(schedule)}.")
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
        for name, _, _ in FORM_FIELDS:
            try:
                arguments[name] = parse_field(name, parsed.values[name])
            except InvalidScheduleError as exc:
                parsed.errors[name] = str(exc)
    elif kind == "cron":
        if not parsed.values["cron"]:
            parsed.errors["cron"] = "type a crontab expression, such as 0 3 * * *"
        arguments["cron"] = parsed.values["cron"]
        arguments["timezone"] = parsed.values["timezone"] or "UTC"
    else:
        delay = _seconds(parsed.values["delay"])
        if delay is None:
            parsed.errors["delay"] = "give the delay in seconds, more than 0 and at most ten years"
        arguments["delay"] = delay
    if with_input:
        try:
            parsed.input = parse_json(parsed.values["input"])
        except ValueError as exc:
            parsed.errors["input"] = str(exc)
    if not parsed.errors:
        try:
            parsed.schedule = Schedule(**arguments)
        except RemoteTaskError as exc:
            parsed.errors["schedule"] = str(exc)
    return parsed


def _seconds(text: str) -> float | None:
    """A delay in seconds: more than 0 and at most ten years, else None."""
    try:
        value = float(text) if text.isascii() else -1.0
    except ValueError:
        return None
    return value if 0 < value <= MAX_DELAY else None


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
        values[name] = field_text(name, getattr(schedule, name))
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
        try:
            moment = schedule.next_after(moment) if moment is not None else None
        except (OverflowError, ValueError, OSError):
            moment = None
        if moment is None:
            break
        try:
            text = datetime.fromtimestamp(moment, ZoneInfo("UTC")).strftime("%a %Y-%m-%d %H:%M UTC")
        except (OverflowError, ValueError, OSError):
            break
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


def _cron_job(svc: TaskService, request: Request, current: Visit) -> Job:
    job = job_or_404(svc, request, current)
    if job.schedule is None or job.status not in (CRONJOB, DELAYED):
        raise HTTPException(404, f"job {job.id} is not a waiting cron or delayed job")
    return job
