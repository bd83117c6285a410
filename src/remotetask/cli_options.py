"""Options shared by the commands that process jobs (``worker`` and ``serve``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

_PROCESSING_OPTIONS = (
    click.option(
        "--app", "app_spec", help="The App to run, as module:attribute (env REMOTETASK_APP)."
    ),
    click.option("--database", help="Database URL (env REMOTETASK_DATABASE)."),
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
    """Add the app, database, services and processing options, in one place for both commands."""
    for option in reversed(_PROCESSING_OPTIONS):
        command = option(command)
    return command
