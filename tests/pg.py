"""PostgreSQL test databases: one fresh schema per test, dropped by the next run's sweep."""

from __future__ import annotations

import uuid
from urllib.parse import quote


def fresh_schema_url(base_url: str) -> str:
    """``base_url`` pointed at a new empty schema (via the search_path connection option)."""
    import psycopg

    schema = f"rt_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
