"""The ``remotetask`` command: one binary, one subcommand per job.

Every option can also come from ``remotetask.toml`` or a ``REMOTETASK_*``
variable (flags win). Errors are one line on stderr and a non-zero exit:
2 for a usage or configuration mistake, 1 for anything else.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

from remotetask.cli_options import processing_options
from remotetask.config import DEFAULT_DATABASE, Config, build_app, load_config
from remotetask.errors import ConfigError, RemoteTaskError
from remotetask.store import open_store

log = logging.getLogger("remotetask")


@contextmanager
def _friendly_errors() -> Iterator[None]:
    try:
        yield
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except RemoteTaskError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _config(ctx: click.Context, **flags: Any) -> Config:
    return load_config(ctx.obj.get("config"), flags)


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Configuration file (default: ./remotetask.toml if present).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="remotetask")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Remote task execution: queue named tasks as jobs and run them."""
    level = logging.DEBUG if verbose > 1 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["config"] = config_path


@main.command()
@click.option("--database", help="Database URL (env REMOTETASK_DATABASE).")
@click.pass_context
def migrate(ctx: click.Context, database: str | None) -> None:
    """Create or upgrade the database schema."""
    with _friendly_errors():
        config = _config(ctx, database=database)
        store = open_store(config.database or DEFAULT_DATABASE, verify=False)
        applied = store.migrate()
        version = store.schema_version()
        store.close()
    click.echo(f"applied {applied} migration(s); schema version is {version}")


@main.command()
@processing_options
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    help="Worker processes to run under this one (each with --threads threads).",
)
@click.pass_context
def worker(
    ctx: click.Context,
    app_spec: str | None,
    database: str | None,
    tasks: tuple[str, ...],
    services: tuple[str, ...],
    autostart: str | None,
    threads: int | None,
    processes: int,
    shutdown_grace: float | None,
) -> None:
    """Process jobs of the autostart services until SIGTERM or Ctrl-C."""
    if processes > 1:
        from remotetask.supervisor import supervise

        sys.exit(supervise(processes, sys.argv[1:]))
    with _friendly_errors():
        config = _config(
            ctx,
            app=app_spec,
            database=database,
            tasks=tasks or None,
            services=services or None,
            autostart=autostart,
            threads=threads,
            shutdown_grace=shutdown_grace,
        )
        app = build_app(config)
        started = app.autostart(list(config.autostart) or ["*@*"])
        if not started:
            raise ConfigError("no service to process: create one with --service site@Service")
        click.echo(f"processing {', '.join(str(s.ref) for s in started)}; Ctrl-C to stop", err=True)
        _wait_for_signal(lambda: app.stop(config.shutdown_grace))
        app.close()
    _exit_despite_running_tasks()


def _exit_despite_running_tasks() -> None:
    """Exit now even if a task given back at shutdown still runs (threads cannot be killed)."""
    if any(t.name.startswith("remotetask-worker") for t in threading.enumerate()):
        log.warning("exiting with tasks still running; their jobs were given back")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _wait_for_signal(on_stop: Callable[[], None]) -> None:
    """Block until SIGTERM or SIGINT, then run ``on_stop`` once."""
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    while not stop.wait(1.0):
        pass
    on_stop()


# -- the remote service's commands (serve, token, and the client commands) -------------


def _register_remote_commands() -> None:
    from remotetask import cli_client, cli_server

    cli_server.register(main)
    cli_client.register(main)


_register_remote_commands()
