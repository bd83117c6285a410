"""Client commands: ``remotetask add / status / … / watch`` against a running server.

Each takes ``--url``, ``--token`` and ``--service`` (or ``REMOTETASK_URL``,
``REMOTETASK_TOKEN``, ``REMOTETASK_SERVICE``). Tables for people, ``--json``
for scripts. Exit codes: 0 done, 1 the job failed or the server refused,
2 usage (an input the task refuses too), 3 the server cannot be reached.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from remotetask.cli._common import EXIT_FAILED, emit, parse_input, print_table, remote
from remotetask.jobs import COMPLETED, FINISHED, Job

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from remotetask.client import RemoteService

TABLE_COLUMNS = ["id", "task", "status", "attempts", "created", "started", "ended"]
"""The columns of ``remotetask jobs``."""
STEPS = 100
"""``watch`` draws progress in whole percent."""


@click.command()
@remote
def tasks(service: RemoteService, as_json: bool) -> None:
    """List the tasks the service can run (--json: with their input and result schemas)."""
    found = service.available_tasks()
    if as_json:
        emit(True, [dataclasses.asdict(t) for t in found.values()], "")
    else:
        rows = [
            {
                "name": t.name,
                "input": "typed" if t.input_schema else "any",
                "description": t.description,
            }
            for t in found.values()
        ]
        print_table(rows, ["name", "input", "description"])


@click.command()
@click.argument("task")
@click.argument("input", required=False)
@click.option("--start-later", is_flag=True, help="Park the job until `remotetask start`.")
@click.option("--delay", type=click.FloatRange(min=0), help="Run once after this many seconds.")
@click.option("--idempotency-key", help="A repeated key returns the first job.")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the end; exit 1 if it failed.")
@click.option("--timeout", type=click.FloatRange(min=0), help="Longest --wait, in seconds.")
@remote
def add(
    service: RemoteService,
    as_json: bool,
    task: str,
    input: str | None,
    start_later: bool,
    delay: float | None,
    idempotency_key: str | None,
    wait_: bool,
    timeout: float | None,
) -> None:
    """Queue a job of TASK with a JSON INPUT and print its id."""
    value = parse_input(input)
    if delay:  # 0 is no delay, as the original: the job is queued at once
        job_id = service.add_cron_job(task, value, delay=delay)
    else:
        job_id = service.add(task, value, start_later=start_later, idempotency_key=idempotency_key)
    if not wait_:
        emit(as_json, {"id": job_id}, str(job_id))
        return
    job = service.wait(job_id, timeout)
    emit(as_json, job.to_json(), f"{job_id} {job.status}")
    if job.status != COMPLETED:
        sys.exit(EXIT_FAILED)


# -- one job by id ---------------------------------------------------------------------


def _job_command(
    name: str, help: str, show: Callable[[RemoteService, int, bool], None]
) -> click.Command:
    @click.command(name=name, help=help)
    @click.argument("job_id", type=int)
    @remote
    def command(service: RemoteService, as_json: bool, job_id: int) -> None:
        show(service, job_id, as_json)

    return command


def _status(service: RemoteService, job_id: int, as_json: bool) -> None:
    job = service.job(job_id)
    emit(as_json, job.to_json(), str(job.status))


def _result(service: RemoteService, job_id: int, as_json: bool) -> None:
    click.echo(json.dumps(service.result(job_id), indent=2 if as_json else None))


def _error(service: RemoteService, job_id: int, as_json: bool) -> None:
    message = service.error(job_id)
    emit(as_json, {"error": message}, "" if message is None else message)


def _verb(verb: str, key: str) -> Callable[[RemoteService, int, bool], None]:
    def act(service: RemoteService, job_id: int, as_json: bool) -> None:
        done = bool(getattr(service, verb)(job_id))
        emit(as_json, {key: done}, f"{job_id} {key}" if done else f"{job_id} unchanged")
        if not done:
            sys.exit(EXIT_FAILED)

    return act


status = _job_command("status", "Print a job's status (--json: the whole job).", _status)
result = _job_command("result", "Print a job's result as JSON (null until it completed).", _result)
error = _job_command("error", "Print a job's error message (nothing when there is none).", _error)
cancel = _job_command(
    "cancel", "Cancel a job (exit 1 if it had already ended).", _verb("cancel", "cancelled")
)
start = _job_command("start", "Start a start-later job.", _verb("start_job", "started"))
retry = _job_command("retry", "Queue an errored job again.", _verb("retry", "retried"))


# -- many jobs -------------------------------------------------------------------------


@click.command()
@click.option("--status", "statuses", multiple=True, help="Only this status (repeatable).")
@click.option("--task", help="Only this task.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--oldest-first", is_flag=True)
@remote
def jobs(
    service: RemoteService,
    as_json: bool,
    statuses: tuple[str, ...],
    task: str | None,
    limit: int,
    oldest_first: bool,
) -> None:
    """List jobs, newest first."""
    found, _ = service.page(statuses=statuses, task=task, limit=limit, oldest_first=oldest_first)
    rows = [job.to_json() for job in found]
    if as_json:
        emit(True, rows, "")
    else:
        print_table(rows, TABLE_COLUMNS)


@click.command()
@click.option("--status", "statuses", multiple=True, help="cancelled, completed or error.")
@remote
def clean(service: RemoteService, as_json: bool, statuses: tuple[str, ...]) -> None:
    """Remove finished jobs (all three finished statuses by default); print how many."""
    count = service.clean(statuses or FINISHED)
    emit(as_json, {"count": count}, f"removed {count} job(s)")


# -- watching a job --------------------------------------------------------------------


@click.command()
@click.argument("job_id", type=int)
@click.option("--timeout", type=click.FloatRange(min=0), help="Give up after this many seconds.")
@remote
def watch(service: RemoteService, as_json: bool, job_id: int, timeout: float | None) -> None:
    """Show a job's progress until it ends; exit 0 if it completed, 1 otherwise."""
    job = follow(service, job_id, timeout, quiet=as_json)
    if as_json:
        emit(True, job.to_json(), "")
    if job.status != COMPLETED:
        if not as_json:
            click.echo(f"job {job_id} {job.status}: {job.error or ''}".rstrip(": "), err=True)
        sys.exit(EXIT_FAILED)


def follow(service: RemoteService, job_id: int, timeout: float | None, quiet: bool) -> Job:
    """Wait for the job to end, showing its progress; TimeoutError after ``timeout``.

    On a terminal it draws click's progress bar; otherwise (a pipe, a log) it
    prints one line per change, like ``40% slept 0.2s``, so scripts can follow.
    """
    if quiet:
        return service.wait(job_id, timeout)
    progress = _Progress(job_id, bar=sys.stderr.isatty())
    try:
        return service.wait(job_id, timeout, on_update=progress.show)
    finally:
        progress.close()


class _Progress:
    """Shows a job's progress each time ``RemoteService.wait`` reports it."""

    def __init__(self, job_id: int, *, bar: bool) -> None:
        self._job_id = job_id
        self._want_bar = bar
        self._bar: ProgressBar[int] | None = None
        self._shown = -1

    def show(self, job: Job) -> None:
        percent = STEPS if job.status == COMPLETED else int((job.progress or 0.0) * STEPS)
        if percent <= self._shown:
            return
        if self._want_bar and self._bar is None:
            label = f"job {self._job_id} ({job.task})"
            self._bar = click.progressbar(length=STEPS, label=label, file=sys.stderr)
        if self._bar is not None:
            self._bar.update(percent - max(self._shown, 0))
        else:
            click.echo(f"{percent}% {job.progress_message or str(job.status)}", err=True)
        self._shown = percent

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
