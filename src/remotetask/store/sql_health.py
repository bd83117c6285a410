"""What an operator watches about the database itself, read by the ``health`` store verb.

On PostgreSQL the danger is a transaction left open by anyone (a forgotten
``psql``, a stuck report): while it lives, no row deleted or updated after it
began can be vacuumed, so the jobs table and its indexes grow and claims slow
down. The gauges show the oldest such transaction and what it costs the jobs
table. SQLite's counterpart is a reader that stops checkpoints, so the WAL grows.
"""

from __future__ import annotations

import os

from remotetask.store._sqlbase import Cursor

# Other sessions of this database holding back vacuum: an assigned transaction id
# or a snapshot. Other users' rows show only with pg_monitor (or as superuser).
_PG_OLDEST = (
    "SELECT COALESCE(MAX(EXTRACT(EPOCH FROM clock_timestamp() - xact_start)), 0), "
    "COALESCE(MAX(GREATEST(age(backend_xid), age(backend_xmin))), 0) "
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)"
)
_PG_JOBS = (
    "SELECT COALESCE(s.n_dead_tup, 0), COALESCE(s.n_live_tup, 0), "
    "pg_total_relation_size('jobs'::regclass) "
    "FROM (SELECT 1) AS one LEFT JOIN pg_stat_user_tables s ON s.relid = 'jobs'::regclass"
)


def postgres_health(cur: Cursor) -> dict[str, float]:
    """The oldest foreign transaction, and the dead rows and size of the jobs table."""
    cur.execute(_PG_OLDEST)
    seconds, xid_age = cur.fetchone()
    cur.execute(_PG_JOBS)
    dead, live, size = cur.fetchone()
    return {
        "oldest_transaction_seconds": float(seconds),
        "oldest_transaction_xid_age": float(xid_age),
        "jobs_dead_tuples": float(dead),
        "jobs_live_tuples": float(live),
        "jobs_table_bytes": float(size),
    }


def sqlite_health(cur: Cursor, path: str | None) -> dict[str, float]:
    """The database's size, its free pages, and the size of its write-ahead log."""
    page_size, pages, free = (
        _pragma(cur, "page_size"),
        _pragma(cur, "page_count"),
        _pragma(cur, "freelist_count"),
    )
    wal = f"{path}-wal"
    return {
        "database_bytes": float(page_size * pages),
        "free_bytes": float(page_size * free),
        "wal_bytes": float(os.path.getsize(wal)) if path and os.path.exists(wal) else 0.0,
    }


def _pragma(cur: Cursor, name: str) -> int:
    cur.execute(f"PRAGMA {name}")
    return int(cur.fetchone()[0])
