"""The commands that open the database: ``serve``, ``worker``, ``migrate`` and ``token``.

All four reach the database the same way, through ``config.open_app``: the
``database`` setting if given, else the configured App's own. ``serve`` runs the
web app with uvicorn on a socket it binds itself (so ``--port 0`` works and the
real port is printed); ``serve`` and ``worker`` stop cleanly on SIGTERM or Ctrl-C
and exit 0.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any, TypeVar

import click

from remotetask.app import App
from remotetask.auth import Role
from remotetask.cli._common import (
    EXIT_FAILED,
    database_option,
    local_errors,
    print_table,
    processing_options,
)
from remotetask.config import Config, build_app, load_config, migrate_database, open_app
from remotetask.errors import ConfigError
from remotetask.supervisor import report_ready, supervise

log = logging.getLogger("remotetask")
T = TypeVar("T")
_EXTRA_FIELDS = ("job_id", "task", "service", "outcome", "attempt", "duration_ms")


def _config(ctx: click.Context, flags: Mapping[str, Any]) -> Config:
    """The file given to the group (or ./remotetask.toml), the environment, then these flags."""
    return load_config(ctx.obj.get("config"), flags)


# -- migrate and token -----------------------------------------------------------------


@click.command()
@database_option
@click.pass_context
def migrate(ctx: click.Context, database: str | None) -> None:
    """Create or upgrade the database schema."""
    with local_errors():
        applied, version = migrate_database(_config(ctx, {"database": database}))
    click.echo(f"applied {applied} migration(s); schema version is {version}")


def _on_app(ctx: click.Context, database: str | None, verb: Callable[[App], T]) -> T:
    """Run ``verb`` on the configured App (the database worker and serve use), then close it."""
    with local_errors():
        app = open_app(_config(ctx, {"database": database}))
        try:
            return verb(app)
        finally:
            app.close()


@click.group()
def token() -> None:
    """Create, list and revoke API tokens (directly in the database)."""


@token.command("create")
@click.option("--name", required=True, help="Who or what uses the token.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.READ.value,
    show_default=True,
    help="read < submit < operate < admin.",
)
@click.option("--site", "sites", multiple=True, help="Site pattern (repeat; '*' = all, default).")
@click.option("--expires-days", type=click.FloatRange(min=0, min_open=True), help="Lifetime.")
@database_option
@click.pass_context
def token_create(
    ctx: click.Context,
    name: str,
    role: str,
    sites: tuple[str, ...],
    expires_days: float | None,
    database: str | None,
) -> None:
    """Create a token and print its secret (shown once; only its hash is stored)."""
    expires_in = None if expires_days is None else expires_days * 86400
    created, secret = _on_app(
        ctx,
        database,
        lambda app: app.tokens.issue(name, role, list(sites) or ["*"], expires_in=expires_in),
    )
    click.echo(f"token {created.id} ({created.name}, {created.role}) created; its secret:")
    click.echo(secret)


@token.command("list")
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def token_list(ctx: click.Context, database: str | None, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    tokens = _on_app(ctx, database, lambda app: app.tokens.list())
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "role": str(t.role),
            "sites": list(t.sites),
            "created": t.created,
            "expires": t.expires,
            "revoked": t.revoked,
            "last_used": t.last_used,
        }
        for t in tokens
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    print_table(rows, ["id", "name", "role", "sites", "created", "expires", "revoked", "last_used"])


@token.command("revoke")
@click.argument("token_id", type=int)
@database_option
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int, database: str | None) -> None:
    """Revoke a token for good."""
    if not _on_app(ctx, database, lambda app: app.tokens.revoke(token_id)):
        click.echo(f"error: no active token {token_id}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"token {token_id} revoked")


# -- worker and serve: processing until a stop signal ----------------------------------


@contextmanager
def _processing_app(config: Config) -> Iterator[App]:
    """The configured App with its services; closed (processing stopped) when the command ends."""
    app = build_app(config)
    try:
        yield app
    finally:
        app.close()


@click.command()
@processing_options
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    help="Worker processes to run under this one (each with --threads threads).",
)
@click.pass_context
def worker(ctx: click.Context, flags: Mapping[str, Any], processes: int) -> None:
    """Process jobs of the autostart services until SIGTERM or Ctrl-C."""
    if processes > 1:
        sys.exit(supervise(processes, sys.argv[1:]))
    with local_errors():
        config = _config(ctx, flags)
        with _processing_app(config) as app:
            started = app.autostart(list(config.autostart) or ["*@*"])
            if not started:
                raise ConfigError("no service to process: create one with --service site@Service")
            refs = ", ".join(str(s.ref) for s in started)
            click.echo(f"processing {refs}; Ctrl-C to stop", err=True)
            report_ready()
            _wait_for_signal(lambda: app.stop(config.shutdown_grace))
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


@click.command()
@processing_options
@click.option("--host", help="Address to bind (env REMOTETASK_HOST, default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (env REMOTETASK_PORT, 8470).")
@click.option("--max-body", type=click.IntRange(min=1), help="Largest request body in bytes.")
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    help="Requests a second per token, 429 beyond (0: no limit; default 500).",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=0),
    help="Open connections kept, 503 beyond (default 1000, within the fd limit).",
)
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Serve without tokens; refused unless the address is loopback.",
)
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False),
    help="A folder of UI templates (<task>_detail.html); env REMOTETASK_TEMPLATES.",
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def serve(
    ctx: click.Context,
    flags: Mapping[str, Any],
    host: str | None,
    port: int | None,
    max_body: int | None,
    rate_limit: float | None,
    max_connections: int | None,
    insecure_no_auth: bool,
    templates: str | None,
    log_format: str,
) -> None:
    """HTTP API, XML-RPC, health and metrics, and processing, in one process."""
    from remotetask.web import WebSettings, create_web_app
    from remotetask.web.serve import run

    with local_errors():
        options = {
            "host": host,
            "port": port,
            "max_body": max_body,
            "rate_limit": rate_limit,
            "max_connections": max_connections,
            "templates": templates,
        }
        config = _config(ctx, {**flags, **options})
        if config.templates is not None and not os.path.isdir(config.templates):
            raise ConfigError(f"the templates folder {config.templates} does not exist")
        if insecure_no_auth and not is_loopback(config.host):
            raise ConfigError(
                f"--insecure-no-auth is refused on {config.host}: use a loopback address"
            )
        if log_format == "json":
            for handler in logging.getLogger().handlers:
                handler.setFormatter(JsonFormatter())
        with _processing_app(config) as app:
            if not insecure_no_auth and app.tokens.count() == 0:
                _, secret = app.tokens.issue("bootstrap-admin", Role.ADMIN, ["*"])
                click.echo("No API token existed, so an admin token was created. It is shown once:")
                click.echo(f"  {secret}")
            settings = WebSettings(
                max_body=config.max_body,
                max_wait=config.max_wait,
                auth=not insecure_no_auth,
                autostart=config.autostart or ("*@*",),
                shutdown_grace=config.shutdown_grace,
                rate_limit=config.rate_limit,
                templates=config.templates,
            )
            sock = _bind(config.host, config.port)
            bound = sock.getsockname()[1]
            click.echo(f"listening on http://{config.host}:{bound}")
            sys.stdout.flush()
            run(create_web_app(app, settings), sock, config.max_connections, config.read_timeout)
        click.echo("stopped", err=True)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    return sock


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the job fields a log line carries."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
