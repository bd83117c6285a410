"""The ``remotetask`` command: one binary, one subcommand per job.

Every option can also come from ``remotetask.toml`` or a ``REMOTETASK_*``
variable (flags win). Errors are one line on stderr and a non-zero exit:
2 for a usage or configuration mistake, 1 for anything else, 3 when a client
command cannot reach the server.

The commands live in ``local`` (those that open the database), ``remote`` (the
client commands), ``cron`` and share ``_common``; this module only builds the
group and lists every command on it, so none registers itself on import.
"""

from __future__ import annotations

import logging

import click

from remotetask.cli import cron, local, remote


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


for _command in (
    local.migrate,
    local.token,
    local.worker,
    local.serve,
    remote.tasks,
    remote.add,
    remote.status,
    remote.result,
    remote.error,
    remote.cancel,
    remote.start,
    remote.retry,
    remote.jobs,
    remote.clean,
    remote.watch,
    cron.cron,
):
    main.add_command(_command)

__all__ = ["main"]
