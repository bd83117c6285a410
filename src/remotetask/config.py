"""Configuration: ``remotetask.toml``, then ``REMOTETASK_*`` variables, then flags.

Each later source overrides the earlier one key by key. The file is the
equivalent of the original's zope.conf product-config section.

    database = "sqlite:///remotetask.db"
    app = "myproject.tasks:app"        # an App object, or:
    tasks = ["myproject.tasks"]        # modules with a register(app) function
    autostart = ["site1@*", "@RootTaskService"]
    services = ["site1@Converter"]     # created at start if missing
    threads = 1                        # worker threads per service
    host = "127.0.0.1"                 # remotetask serve: bind address, port,
    port = 8470                        # largest request body, long-poll cap
    max_body = 1048576
    max_wait = 60.0
    rate_limit = 500.0                 # requests a second per token (0: none)
    max_connections = 0                # open connections (0: 1000, within the fd limit)
    read_timeout = 10.0                # seconds for a request's headers (3x for its body)
    templates = "ui-templates"         # <task>_detail.html renderers for the UI
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from remotetask.app import App
from remotetask.engine import DEFAULT_DATABASE
from remotetask.errors import ConfigError
from remotetask.settings import MultiProcessor, SimpleProcessor
from remotetask.store import open_store

DEFAULT_FILE = "remotetask.toml"
ENV_PREFIX = "REMOTETASK_"


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a worker or server needs to know to start."""

    database: str | None = None
    """None: the App's own database, or ``sqlite:///remotetask.db`` in the working directory."""
    app: str | None = None
    tasks: tuple[str, ...] = ()
    autostart: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    threads: int = 1
    lease_seconds: float = 30.0
    shutdown_grace: float = 30.0
    # -- remotetask serve -----------------------------------------------------------
    host: str = "127.0.0.1"
    """Address ``serve`` binds; loopback unless chosen otherwise."""
    port: int = 8470
    max_body: int = 1024 * 1024
    """Largest request body accepted, in bytes (413 beyond it)."""
    max_wait: float = 60.0
    """Cap on a job request's long-poll ``?wait=`` seconds."""
    rate_limit: float = 500.0
    """Requests a second each API token may make (429 beyond); 0 turns the limit off."""
    max_connections: int = 0
    """Open connections ``serve`` keeps (503 beyond); 0: 1000, or fewer to fit the fd limit."""
    read_timeout: float = 10.0
    """Seconds a request may take to send its headers (408); its body gets three times that."""
    templates: str | None = None
    """A folder of UI templates (``<task>_detail.html``) searched before the built-in ones."""

    def merged(self, values: Mapping[str, Any]) -> Config:
        """A copy with the given (non-None) values applied, lists normalised to tuples."""
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if value is None:
                continue
            if key in ("tasks", "autostart", "services"):
                value = _as_tuple(key, value)
            changes[key] = value
        try:
            return _validated(replace(self, **changes))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid configuration: {exc}") from None


def load_config(path: str | None = None, flags: Mapping[str, Any] | None = None) -> Config:
    """File (``path``, else ./remotetask.toml if present), then environment, then flags."""
    config = Config()
    file = Path(path) if path else Path(DEFAULT_FILE)
    if path or file.exists():
        config = config.merged(_read_toml(file))
    config = config.merged(_from_environment(os.environ))
    return config.merged(flags or {})


def open_app(config: Config) -> App:
    """The App the configuration names, on its database: the one road every command takes.

    ``database`` if given (it replaces the imported App's, even if the App's module
    already opened its store), else the imported App's own, else ``DEFAULT_DATABASE``.
    So ``migrate`` and ``token`` reach the same database as ``worker`` and ``serve``.
    """
    if not config.app:
        return App(config.database or DEFAULT_DATABASE)
    app = _import_app(config.app)
    if config.database is not None:
        app.database = config.database
    return app


def build_app(config: Config) -> App:
    """``open_app``, with the processing settings, the task modules and the services."""
    app = open_app(config)
    app.settings = replace(
        app.settings,
        processor=MultiProcessor(config.threads) if config.threads > 1 else SimpleProcessor(),
        lease_seconds=config.lease_seconds,
        shutdown_grace=config.shutdown_grace,
    )
    for module_name in config.tasks:
        module = _import(module_name)
        register = getattr(module, "register", None)
        if not callable(register):
            raise ConfigError(f"task module {module_name!r} has no register(app) function")
        register(app)
    for ref in config.services:
        app.add_service(ref)
    return app


def migrate_database(config: Config) -> tuple[int, int]:
    """Create or upgrade the schema of ``open_app``'s database; (migrations applied, version)."""
    store = open_store(open_app(config).database, verify=False)
    try:
        return store.migrate(), store.schema_version()
    finally:
        store.close()


def _import_app(spec: str) -> App:
    module_name, _, attribute = spec.partition(":")
    module = _import(module_name)
    app = getattr(module, attribute or "app", None)
    if not isinstance(app, App):
        raise ConfigError(f"{spec!r} does not name a remotetask.App (expected module:attribute)")
    return app


def _import(module_name: str) -> Any:
    """Import a user module; the working directory is searched first, as peers' CLIs do."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import {module_name!r}: {exc}") from None


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file} is not valid TOML: {exc}") from None


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields(Config):
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw is None or raw == "":
            continue
        if f.name in ("threads", "port", "max_body", "max_connections"):
            values[f.name] = _number(int, f.name, raw)
        elif f.name in (
            "lease_seconds",
            "shutdown_grace",
            "max_wait",
            "rate_limit",
            "read_timeout",
        ):
            values[f.name] = _number(float, f.name, raw)
        else:
            values[f.name] = raw
    return values


def _number(kind: type[int] | type[float], name: str, raw: str) -> int | float:
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from None


def _as_tuple(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{key} must be a list of strings or a comma-separated string")


def _validated(config: Config) -> Config:
    if not isinstance(config.threads, int) or config.threads < 1:
        raise ConfigError("threads must be a whole number of at least 1")
    if config.lease_seconds <= 0 or config.shutdown_grace < 0:
        raise ConfigError("lease_seconds must be > 0 and shutdown_grace >= 0")
    if not 0 <= config.port <= 65535 or config.max_body < 1 or config.max_wait < 0:
        raise ConfigError("port must be 0-65535, max_body >= 1 and max_wait >= 0")
    if config.rate_limit < 0 or config.max_connections < 0 or config.read_timeout <= 0:
        raise ConfigError("rate_limit and max_connections must be >= 0, read_timeout > 0")
    if config.database is not None and not isinstance(config.database, str):
        raise ConfigError("database must be a URL string")
    return config


__all__ = ["Config", "build_app", "load_config", "migrate_database", "open_app"]
