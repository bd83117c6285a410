"""Client commands: ``remotetask add / status / … / watch`` against a running server.

Each takes ``--url``, ``--token`` and ``--service`` (or ``REMOTETASK_URL``,
``REMOTETASK_TOKEN``, ``REMOTETASK_SERVICE``). Tables for people, ``--json``
for scripts. Exit codes: 0 done, 1 the job failed or the server refused,
2 usage, 3 the server cannot be reached.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from remotetask.client import Client, RemoteService
from remotetask.errors import (
    InvalidReferenceError,
    RemoteTaskError,
    ServerUnavailableError,
    StoreError,
)
from remotetask.jobs import COMPLETED, FINISHED, Job

DEFAULT_URL = "http://127.0.0.1:8470"
SERVICE_HELP = "site@Service (env REMOTETASK_SERVICE)."
EXIT_JOB_FAILED = 1
EXIT_UNREACHABLE = 3
F = TypeVar("F", bound=Callable[..., Any])
JOB_COLUMNS = ["id", "task", "status", "attempts", "created", "started", "ended"]


def remote(func: F) -> F:
    """Add --url/--token/--service/--json and pass a connected RemoteService as ``service``."""

    @click.option(
        "--url", envvar="REMOTETASK_URL", default="http://127.0.0.1:8470", show_default=True
    )
    @click.option("--token", envvar="REMOTETASK_TOKEN", help="API token (env REMOTETASK_TOKEN).")
    @click.option(
        "--service", "ref", envvar="REMOTETASK_SERVICE", required=True, help="site@Service"
    )
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @functools.wraps(func)
    def wrapper(url: str, token: str | None, ref: str, as_json: bool, **kwargs: Any) -> Any:
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            logging.getLogger("httpx").setLevel(logging.WARNING)
        try:
            client = Client(url, token)
            service = client.service(ref)
        except InvalidReferenceError as exc:
            raise click.BadParameter(str(exc), param_hint="--service") from None
        with client, _remote_errors():
            return func(service=service, as_json=as_json, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def _remote_errors() -> Iterator[None]:
    try:
        yield
    except (ServerUnavailableError, StoreError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    except TimeoutError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_JOB_FAILED)
    except RemoteTaskError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_JOB_FAILED)


def parse_input(text: str | None) -> Any:
    """A JSON input from the command line ('-' reads standard input)."""
    if text is None:
        return None
    raw = sys.stdin.read() if text == "-" else text
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="INPUT") from None


def parse_field(text: str | None) -> list[int] | None:
    """A cron field set: '0,15,30' or '*' (every value, i.e. no restriction)."""
    if text is None:
        return None
    if text.strip() == "*":
        return []
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers") from None


def _when(value: float | None) -> str:
    if value is None:
        return "-"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """A plain aligned table; times (floats) are shown as UTC date-times."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return _when(value)
        if value is None:
            return "-"
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        return str(value)

    text = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in text)]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in text:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def job_json(job: Job) -> dict[str, Any]:
    data = {name: getattr(job, name) for name in Job.__slots__}
    data["status"] = str(job.status)
    data["schedule"] = None if job.schedule is None else job.schedule.to_json()
    return data


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)


@click.command()
@remote
def tasks(service: RemoteService, as_json: bool) -> None:
    """List the tasks the service can run."""
    found = service.available_tasks()
    rows = [{"name": t.name, "description": t.description} for t in found.values()]
    if as_json:
        emit(True, rows, "")
    else:
        print_table(rows, ["name", "description"])


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
    if delay is not None:
        job_id = service.add_cron_job(task, value, delay=delay)
    else:
        job_id = service.add(task, value, start_later=start_later, idempotency_key=idempotency_key)
    if not wait_:
        emit(as_json, {"id": job_id}, str(job_id))
        return
    job = service.wait(job_id, timeout)
    emit(as_json, job_json(job), f"{job_id} {job.status}")
    if job.status != COMPLETED:
        sys.exit(EXIT_JOB_FAILED)


def _job_command(name: str, help: str, show: Callable[[RemoteService, int, bool], None]) -> None:
    @click.command(name=name, help=help)
    @click.argument("job_id", type=int)
    @remote
    def command(service: RemoteService, as_json: bool, job_id: int) -> None:
        show(service, job_id, as_json)

    COMMANDS.append(command)


COMMANDS: list[click.Command] = [tasks, add]


def _status(service: RemoteService, job_id: int, as_json: bool) -> None:
    job = service.job(job_id)
    emit(as_json, job_json(job), str(job.status))


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
            sys.exit(EXIT_JOB_FAILED)

    return act


_job_command("status", "Print a job's status (--json: the whole job).", _status)
_job_command("result", "Print a job's result as JSON (null until it completed).", _result)
_job_command("error", "Print a job's error message (nothing when there is none).", _error)
_job_command(
    "cancel", "Cancel a job (exit 1 if it had already ended).", _verb("cancel", "cancelled")
)
_job_command("start", "Start a start-later job.", _verb("start_job", "started"))
_job_command("retry", "Queue an errored job again.", _verb("retry", "retried"))


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
    rows = [job_json(job) for job in found]
    if as_json:
        emit(True, rows, "")
    else:
        print_table(rows, JOB_COLUMNS)


@click.command()
@click.option("--status", "statuses", multiple=True, help="cancelled, completed or error.")
@remote
def clean(service: RemoteService, as_json: bool, statuses: tuple[str, ...]) -> None:
    """Remove finished jobs (all three finished statuses by default); print how many."""
    count = service.clean(statuses or FINISHED)
    emit(as_json, {"count": count}, f"removed {count} job(s)")


@click.command()
@click.argument("job_id", type=int)
@click.option("--timeout", type=click.FloatRange(min=0), help="Give up after this many seconds.")
@remote
def watch(service: RemoteService, as_json: bool, job_id: int, timeout: float | None) -> None:
    """Show a job's progress until it ends; exit 0 if it completed, 1 otherwise."""
    from remotetask.cli_watch import follow

    job = follow(service, job_id, timeout, quiet=as_json)
    if as_json:
        emit(True, job_json(job), "")
    if job.status != COMPLETED:
        if not as_json:
            click.echo(f"job {job_id} {job.status}: {job.error or ''}".rstrip(": "), err=True)
        sys.exit(EXIT_JOB_FAILED)


COMMANDS.extend([jobs, clean, watch])


def register(main: click.Group) -> None:
    """Add the client commands (and the ``cron`` group) to the main command group."""
    from remotetask.cli_cron import cron

    for command in [*COMMANDS, cron]:
        main.add_command(command)
