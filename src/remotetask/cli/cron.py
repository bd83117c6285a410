"""``remotetask cron add | list | update``: cron jobs on a running server."""

from __future__ import annotations

from typing import Any

import click

from remotetask.cli._common import emit, parse_field, parse_input, print_table, remote
from remotetask.client import RemoteService
from remotetask.schedule import FIELD_SETS, Schedule


def _field_options(func: Any) -> Any:
    for name in reversed(FIELD_SETS):
        flag = "--" + name.replace("_", "-")
        func = click.option(flag, name, help="Values like 0,15,30 or * (day of week 0=Monday).")(
            func
        )
    return func


@click.group()
def cron() -> None:
    """Cron jobs: field sets as the original, or a crontab expression with a time zone."""


@cron.command("add")
@click.argument("task")
@click.argument("input", required=False)
@_field_options
@click.option("--cron", "expression", help='A crontab expression, e.g. "*/5 * * * *" (0=Sunday).')
@click.option("--timezone", default="UTC", show_default=True, help="An IANA time zone.")
@remote
def cron_add(
    service: RemoteService,
    as_json: bool,
    task: str,
    input: str | None,
    expression: str | None,
    timezone: str,
    **fields: str | None,
) -> None:
    """Add a cron job of TASK with a JSON INPUT; print its id."""
    sets: dict[str, Any] = {name: parse_field(fields[name]) or [] for name in FIELD_SETS}
    job_id = service.add_cron_job(
        task, parse_input(input), **sets, cron=expression, timezone=timezone
    )
    emit(as_json, {"id": job_id}, str(job_id))


@cron.command("list")
@remote
def cron_list(service: RemoteService, as_json: bool) -> None:
    """List cron and delayed jobs with their next call time."""
    found = service.cron_jobs()
    if as_json:
        emit(True, [job.to_json() for job in found], "")
        return
    rows = [{**job.to_json(), "schedule": _compact(job.schedule)} for job in found]
    print_table(rows, ["id", "task", "status", "schedule", "next_call", "attempts", "error"])


@cron.command("update")
@click.argument("job_id", type=int)
@_field_options
@click.option("--cron", "expression", help="A crontab expression (replaces the field sets).")
@click.option("--timezone", help="An IANA time zone.")
@remote
def cron_update(
    service: RemoteService,
    as_json: bool,
    job_id: int,
    expression: str | None,
    timezone: str | None,
    **fields: str | None,
) -> None:
    """Change a cron job's schedule and reschedule it."""
    changes: dict[str, Any] = {
        name: parse_field(text) for name, text in fields.items() if text is not None
    }
    if expression is not None:
        changes["cron"] = expression
    if timezone is not None:
        changes["timezone"] = timezone
    if not changes:
        raise click.UsageError("nothing to change: give a field, --cron or --timezone")
    schedule = service.update_cron_job(job_id, **changes)
    emit(as_json, service.job(job_id).to_json(), f"{job_id} rescheduled: {schedule.to_json()}")


def _compact(schedule: Schedule | None) -> str:
    """The schedule as the flags that made it (``minute=0,30 hour=2``), to fit a table cell.

    ``Schedule.describe`` says it in words, for the UI; the table keeps this terser form.
    """
    if schedule is None:
        return "-"
    if schedule.cron:
        return f"{schedule.cron} ({schedule.timezone})"
    if schedule.delay is not None:
        return f"after {schedule.delay} s"
    parts = [
        f"{name}={','.join(map(str, getattr(schedule, name)))}"
        for name in FIELD_SETS
        if getattr(schedule, name)
    ]
    return " ".join(parts) or "every minute"
