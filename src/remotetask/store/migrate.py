"""Numbered schema migrations shipped as SQL files, one folder per dialect.

A database records the number of the last migration applied in
``schema_version``. Opening checks it: a newer database is refused (it was
written by a newer remotetask), an older one is upgraded only when asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from remotetask.errors import SchemaError

_FILE = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def load_migrations(dialect: str) -> list[Migration]:
    """The migrations for ``dialect`` ("sqlite" or "postgresql"), in order."""
    folder = resources.files("remotetask.store.migrations").joinpath(dialect)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            text = entry.read_text(encoding="utf-8")
            found.append(Migration(int(match.group(1)), entry.name, split_statements(text)))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration {migration.name} is out of sequence")
    return found


def latest_version(dialect: str) -> int:
    return len(load_migrations(dialect))


def split_statements(script: str) -> tuple[str, ...]:
    """Split a migration file into statements at ';' outside ``$$``-quoted function bodies.

    Our files keep ';' out of string literals, so this is all the parsing they need.
    """
    without_comments = "\n".join(
        line for line in script.splitlines() if not line.lstrip().startswith("--")
    )
    statements, current = [], ""
    for n, piece in enumerate(without_comments.split("$$")):
        if n % 2:  # inside a body: kept whole
            current += f"$${piece}$$"
            continue
        *ended, current_tail = piece.split(";")
        for part in ended:
            statements.append(current + part)
            current = ""
        current += current_tail
    statements.append(current)
    return tuple(part.strip() for part in statements if part.strip())


def newer_schema_error(where: str, current: int, latest: int) -> SchemaError:
    """The refusal for a database written by a newer remotetask."""
    return SchemaError(
        f"database {where} has schema version {current}, newer than this remotetask "
        f"knows ({latest}); upgrade remotetask instead"
    )


def check_schema(
    where: str, current: int, latest: int, auto_migrate: bool, migrate: Callable[[], object]
) -> None:
    """Refuse a newer schema; upgrade an older one only when ``auto_migrate`` allows it."""
    if current > latest:
        raise newer_schema_error(where, current, latest)
    if current < latest:
        if not auto_migrate:
            raise SchemaError(
                f"database {where} has schema version {current}, this remotetask needs "
                f"{latest}: run `remotetask migrate`"
            )
        migrate()
