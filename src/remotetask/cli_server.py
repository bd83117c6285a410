"""``remotetask serve`` and ``remotetask token``: the server side of the command.

``serve`` runs the web app with uvicorn on a socket it binds itself (so
``--port 0`` works and the real port is printed) and stops cleanly on
SIGTERM or Ctrl-C: uvicorn stops taking requests, the lifespan stops
processing with the grace period, and the process exits 0.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click

from remotetask.auth import Role
from remotetask.cli_options import processing_options
from remotetask.config import DEFAULT_DATABASE, build_app, load_config
from remotetask.errors import ConfigError
from remotetask.store import Store, open_store
from remotetask.tokens import issue_token

log = logging.getLogger("remotetask")
_EXTRA_FIELDS = ("job_id", "task", "service", "outcome", "attempt", "duration_ms")


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


@click.command()
@processing_options
@click.option("--host", help="Address to bind (env REMOTETASK_HOST, default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (env REMOTETASK_PORT, 8470).")
@click.option("--max-body", type=click.IntRange(min=1), help="Largest request body in bytes.")
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Serve without tokens; refused unless the address is loopback.",
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def serve(
    ctx: click.Context,
    app_spec: str | None,
    database: str | None,
    tasks: tuple[str, ...],
    services: tuple[str, ...],
    autostart: str | None,
    threads: int | None,
    shutdown_grace: float | None,
    host: str | None,
    port: int | None,
    max_body: int | None,
    insecure_no_auth: bool,
    log_format: str,
) -> None:
    """HTTP API, XML-RPC, health and metrics, and processing, in one process."""
    from remotetask.cli import _friendly_errors
    from remotetask.web import WebSettings, create_web_app
    from remotetask.web.serve import run

    with _friendly_errors():
        config = load_config(
            ctx.obj.get("config"),
            {
                "app": app_spec,
                "database": database,
                "tasks": tasks or None,
                "services": services or None,
                "autostart": autostart,
                "threads": threads,
                "shutdown_grace": shutdown_grace,
                "host": host,
                "port": port,
                "max_body": max_body,
            },
        )
        if insecure_no_auth and not is_loopback(config.host):
            raise ConfigError(
                f"--insecure-no-auth is refused on {config.host}: use a loopback address"
            )
        if log_format == "json":
            for handler in logging.getLogger().handlers:
                handler.setFormatter(JsonFormatter())
        app = build_app(config)
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
        )
        sock = _bind(config.host, config.port)
        bound = sock.getsockname()[1]
        click.echo(f"listening on http://{config.host}:{bound}")
        sys.stdout.flush()
        run(create_web_app(app, settings), sock)
        app.close()
        click.echo("stopped", err=True)


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
@click.option("--database", help="Database URL (env REMOTETASK_DATABASE).")
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
    from remotetask.cli import _friendly_errors

    with _friendly_errors():
        store = _store(ctx, database)
        now = time.time()
        expires = None if expires_days is None else now + expires_days * 86400
        created, secret = issue_token(store, name, role, list(sites) or ["*"], now, expires)
        store.close()
    click.echo(f"token {created.id} ({created.name}, {created.role}) created; its secret:")
    click.echo(secret)


@token.command("list")
@click.option("--database", help="Database URL (env REMOTETASK_DATABASE).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def token_list(ctx: click.Context, database: str | None, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    from remotetask.cli import _friendly_errors
    from remotetask.cli_client import print_table

    with _friendly_errors():
        store = _store(ctx, database)
        tokens = store.list_tokens()
        store.close()
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
@click.option("--database", help="Database URL (env REMOTETASK_DATABASE).")
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int, database: str | None) -> None:
    """Revoke a token for good."""
    from remotetask.cli import _friendly_errors

    with _friendly_errors():
        store = _store(ctx, database)
        revoked = store.revoke_token(token_id, time.time())
        store.close()
    if not revoked:
        click.echo(f"error: no active token {token_id}", err=True)
        sys.exit(1)
    click.echo(f"token {token_id} revoked")


def _store(ctx: click.Context, database: str | None) -> Store:
    config = load_config(ctx.obj.get("config"), {"database": database})
    return open_store(config.database or DEFAULT_DATABASE)


def register(main: click.Group) -> None:
    """Add ``serve`` and ``token`` to the main command group."""
    main.add_command(serve)
    main.add_command(token)
