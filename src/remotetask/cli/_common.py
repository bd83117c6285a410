"""What the command modules share: error handling, options, input parsing and output.

Exit codes: 0 done; 1 the job failed, the server refused, or anything else went
wrong; 2 a usage or configuration mistake (an input the task refuses included); 3 the
server cannot be reached.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import click

from remotetask import jsonvalue
from remotetask.clock import utc_text
from remotetask.errors import (
    ConfigError,
    InvalidInputError,
    InvalidReferenceError,
    RemoteTaskError,
    ServerUnavailableError,
    StoreError,
)

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3
F = TypeVar("F", bound=Callable[..., Any])


# -- errors: one line on stderr and an exit code ---------------------------------------


@contextmanager
def local_errors() -> Iterator[None]:
    """For the commands that open the database: a configuration mistake exits 2, others 1."""
    try:
        yield
    except ConfigError as exc:
        _fail(exc, EXIT_CONFIG)
    except RemoteTaskError as exc:
        _fail(exc, EXIT_FAILED)


@contextmanager
def remote_errors() -> Iterator[None]:
    """For the client commands: an unreachable server exits 3, an invalid input 2 (a usage
    mistake, like a malformed one), any other refusal or a timeout 1."""
    try:
        yield
    except (ServerUnavailableError, StoreError) as exc:
        _fail(exc, EXIT_UNREACHABLE)
    except InvalidInputError as exc:
        _fail(exc, EXIT_CONFIG)
    except (TimeoutError, RemoteTaskError) as exc:
        _fail(exc, EXIT_FAILED)


def _fail(exc: Exception, code: int) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(code)


# -- options ---------------------------------------------------------------------------

database_option = click.option("--database", help="Database URL (env REMOTETASK_DATABASE).")
"""``--database``, the same option on every command that opens the database."""

_PROCESSING_OPTIONS = (
    click.option(
        "--app", "app_spec", help="The App to run, as module:attribute (env REMOTETASK_APP)."
    ),
    database_option,
    click.option("--tasks", "tasks", multiple=True, help="Module with a register(app) function."),
    click.option("--service", "services", multiple=True, help="Create this service if missing."),
    click.option("--autostart", help="Services to process, e.g. 'site1@*,@Root' (default: '*@*')."),
    click.option("--threads", type=click.IntRange(min=1), help="Worker threads per service."),
    click.option(
        "--grace",
        "shutdown_grace",
        type=click.FloatRange(min=0),
        help="Seconds running jobs get to finish on SIGTERM before they are given back.",
    ),
)


def processing_options(command: F) -> F:
    """Add the app, database, services and processing options (``worker`` and ``serve``).

    The command receives them as ``flags``: configuration keys, ready for ``load_config``.
    """

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        app_spec: str | None,
        database: str | None,
        tasks: tuple[str, ...],
        services: tuple[str, ...],
        autostart: str | None,
        threads: int | None,
        shutdown_grace: float | None,
        **kwargs: Any,
    ) -> Any:
        flags = {
            "app": app_spec,
            "database": database,
            "tasks": tasks or None,
            "services": services or None,
            "autostart": autostart,
            "threads": threads,
            "shutdown_grace": shutdown_grace,
        }
        return command(*args, flags=flags, **kwargs)

    decorated = cast(F, wrapper)
    for option in reversed(_PROCESSING_OPTIONS):
        decorated = option(decorated)
    return decorated


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
            from remotetask.client import Client  # not for the server commands: see __init__

            client = Client(url, token)
            service = client.service(ref)
        except InvalidReferenceError as exc:
            raise click.BadParameter(str(exc), param_hint="--service") from None
        with client, remote_errors():
            return func(service=service, as_json=as_json, **kwargs)

    return wrapper  # type: ignore[return-value]


# -- input -----------------------------------------------------------------------------


def parse_input(text: str | None) -> Any:
    """A JSON input from the command line ('-' reads standard input)."""
    if text is None:
        return None
    raw = sys.stdin.read() if text == "-" else text
    try:
        return jsonvalue.parse(raw, "input")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="INPUT") from None


# -- output ----------------------------------------------------------------------------


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """A plain aligned table; times (floats) are shown as UTC date-times."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return utc_text(value)
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


def emit(as_json: bool, data: Any, text: str) -> None:
    """JSON for scripts (``--json``), else the text for people."""
    click.echo(json.dumps(data, indent=2) if as_json else text)
