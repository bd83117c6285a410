"""``remotetask cron add | list | update | change``: cron jobs on a running server.

Field options take the original form's text, read by ``schedule.parse_field``: ``*``
for every value, numbers separated by spaces or commas (``'10 13'``, ``10,13``).
``update`` replaces the whole schedule as the original's ``update`` did; ``change``
changes only the options given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from remotetask.cli._common import emit, parse_input, print_table, remote
from remotetask.errors import InvalidScheduleError
from remotetask.schedule import FIELD_SETS, Schedule, field_text, parse_field

if TYPE_CHECKING:
    from remotetask.client import RemoteService


def _field_options(func: Any) -> Any:
    for name in reversed(FIELD_SETS):
        flag = "--" + name.replace("_", "-")
        hint = " (0=Monday)" if name == "day_of_week" else ""
        text = f"Numbers{hint} separated by spaces or commas ('1 15'); * for every value."
        func = click.option(flag, name, help=text)(func)
    return func


def _sets(texts: dict[str, str | None]) -> dict[str, Any]:
    """The field options given, read as the original's form read them."""
    sets: dict[str, Any] = {}
    for name, text in texts.items():
        if text is not None:
            try:
                sets[name] = parse_field(name, text)
            except InvalidScheduleError as exc:
                flag = "--" + name.replace("_", "-")
                raise click.BadParameter(str(exc), param_hint=flag) from None
    return sets


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
    job_id = service.add_cron_job(
        task, parse_input(input), **_sets(fields), cron=expression, timezone=timezone
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


def _schedule_options(func: Any) -> Any:
    """The options of ``update`` and ``change``: field sets, --cron, --timezone, --delay."""
    func = click.option("--delay", type=click.FloatRange(min=0), help="Seconds (delayed jobs).")(
        func
    )
    func = click.option("--timezone", help="An IANA time zone (with --cron).")(func)
    func = click.option("--cron", "expression", help="A crontab expression (0=Sunday).")(func)
    return _field_options(func)


def _given(
    fields: dict[str, str | None], expression: str | None, timezone: str | None, delay: float | None
) -> dict[str, Any]:
    given: dict[str, Any] = dict(_sets(fields))
    extras = {"cron": expression, "timezone": timezone, "delay": delay}
    given.update({key: value for key, value in extras.items() if value is not None})
    if not given:
        raise click.UsageError("give the schedule: a field, --cron, --timezone or --delay")
    return given


def _rescheduling(name: str, verb: Callable[[RemoteService], Callable[..., Schedule]]) -> Any:
    """A command that gives ``verb`` the schedule options and reports the new schedule."""

    @click.argument("job_id", type=int)
    @_schedule_options
    @remote
    def command(
        service: RemoteService,
        as_json: bool,
        job_id: int,
        expression: str | None,
        timezone: str | None,
        delay: float | None,
        **fields: str | None,
    ) -> None:
        schedule = verb(service)(job_id, **_given(fields, expression, timezone, delay))
        text = f"{job_id} rescheduled: {schedule.describe()}"
        emit(as_json, service.job(job_id).to_json(), text)

    command.__name__ = f"cron_{name}"
    return command


cron.command(
    "update",
    help="Replace a cron job's whole schedule, as the original's update; reschedule it.\n\n"
    "Options not given take their defaults (a field not given takes no part), so "
    "`update 7 --minute 5` drops an hour set before; `change` keeps it.",
)(_rescheduling("update", lambda service: service.update_cron_job))
cron.command(
    "change",
    help="Change only the given parts of a cron job's schedule; reschedule it.\n\n"
    "A field keeps the other fields; --cron replaces the field sets.",
)(_rescheduling("change", lambda service: service.change_cron_job))


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
        f"{name}={field_text(name, getattr(schedule, name))}"
        for name in FIELD_SETS
        if getattr(schedule, name)
    ]
    return " ".join(parts) or "every minute"
