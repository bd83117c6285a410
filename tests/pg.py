"""PostgreSQL test databases: one fresh schema per test, dropped after it.

Schema names carry their creation time, so a session can sweep schemas left
behind by crashed runs (older than an hour) without touching those of a run
going on at the same time in another checkout.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from urllib.parse import quote

PREFIX = "rt_test_"
STALE_AFTER_S = 3600


def fresh_schema(base_url: str) -> str:
    """Create a new empty schema and return its name."""
    import psycopg

    schema = f"{PREFIX}{int(time.time())}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` pointed at ``schema`` (via the search_path connection option)."""
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"


def fresh_schema_url(base_url: str) -> str:
    """``base_url`` pointed at a new empty schema."""
    return schema_url(base_url, fresh_schema(base_url))


def drop_schema(base_url: str, schema: str) -> None:
    """Drop a test schema; if something still holds a lock on it, leave it to the sweep."""
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute("SET lock_timeout = 5000")
        with contextlib.suppress(psycopg.errors.LockNotAvailable):
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def sweep_stale_schemas(base_url: str) -> int:
    """Drop test schemas older than an hour (left by killed runs); return how many."""
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (PREFIX + "%",)
            )
        ]
    cutoff = time.time() - STALE_AFTER_S
    dropped = 0
    for name in names:
        stamp = name[len(PREFIX) :].split("_", 1)[0]
        if not stamp.isdigit() or int(stamp) < cutoff:
            drop_schema(base_url, name)
            dropped += 1
    return dropped
