"""Portable SQL for the remote service's verbs: operator actions, tokens and gauges.

Kept apart from ``sql.py`` so the core job verbs stay readable; ``SqlStore``
inherits these, so every backend (SQLite, PostgreSQL) gets them unchanged.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from remotetask.auth import Role, Token
from remotetask.jobs import CANCELLABLE, CANCELLED, ERROR, FINISHED, QUEUED, Status
from remotetask.refs import ServiceRef

if TYPE_CHECKING:
    from remotetask.store.sql import Cursor

TOKEN_COLUMNS = "id, name, role, sites, created, expires, revoked, last_used"


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def row_to_token(row: Sequence[Any]) -> Token:
    return Token(
        id=int(row[0]),
        name=row[1],
        role=Role(row[2]),
        sites=tuple(json.loads(row[3])),
        created=float(row[4]),
        expires=row[5],
        revoked=row[6],
        last_used=row[7],
    )


class AdminSqlVerbs:
    """Mixed into SqlStore: needs only its transactions and service-id lookup."""

    @abstractmethod
    def _tx(self, write: bool) -> AbstractContextManager[Cursor]: ...

    @abstractmethod
    def _service_id(self, cur: Cursor, ref: ServiceRef) -> int: ...

    # -- operator actions on jobs -----------------------------------------------------

    def retry_job(self, ref: ServiceRef, job_id: int) -> bool:
        """Put an ``error`` job back in the queue with its attempts, error and result cleared."""
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "UPDATE jobs SET status = ?, attempts = 0, error = NULL, traceback = NULL, "
                "result = NULL, started = NULL, ended = NULL, next_call = NULL, progress = NULL, "
                "progress_message = NULL, cancel_requested = 0 "
                "WHERE id = ? AND service_id = ? AND status = ?",
                (str(QUEUED), job_id, sid, str(ERROR)),
            )
            return cur.rowcount == 1

    def delete_job(self, ref: ServiceRef, job_id: int) -> bool:
        """Delete one finished job and its cron runs; False if it is not finished."""
        statuses = sorted(str(s) for s in FINISHED)
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"DELETE FROM cron_runs WHERE job_id IN (SELECT id FROM jobs WHERE id = ? "
                f"AND service_id = ? AND status IN ({_marks(len(statuses))}))",
                (job_id, sid, *statuses),
            )
            cur.execute(
                f"DELETE FROM jobs WHERE id = ? AND service_id = ? "
                f"AND status IN ({_marks(len(statuses))})",
                (job_id, sid, *statuses),
            )
            return cur.rowcount == 1

    def cancel_waiting(self, ref: ServiceRef, now: float) -> int:
        """Cancel every waiting job of the service in one transaction; return how many."""
        statuses = sorted(str(s) for s in CANCELLABLE)
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"UPDATE jobs SET status = ?, ended = ? WHERE service_id = ? "
                f"AND status IN ({_marks(len(statuses))})",
                (str(CANCELLED), now, sid, *statuses),
            )
            return cur.rowcount

    def status_counts(self) -> dict[tuple[ServiceRef, Status], int]:
        """Jobs per (service, status) across every service, for the queue-depth gauge."""
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT s.site, s.name, j.status, COUNT(*) FROM jobs j "
                "JOIN services s ON s.id = j.service_id GROUP BY s.site, s.name, j.status"
            )
            return {
                (ServiceRef(site, name), Status(status)): int(count)
                for site, name, status, count in cur.fetchall()
            }

    # -- tokens -----------------------------------------------------------------------

    def insert_token(
        self,
        name: str,
        secret_hash: str,
        role: Role,
        sites: Sequence[str],
        now: float,
        expires: float | None,
    ) -> Token:
        """Store a new token (by the hash of its secret) and return it."""
        with self._tx(write=True) as cur:
            cur.execute(
                "INSERT INTO tokens (name, secret_hash, role, sites, created, expires) "
                f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {TOKEN_COLUMNS}",
                (name, secret_hash, str(role), json.dumps(list(sites)), now, expires),
            )
            return row_to_token(cur.fetchone())

    def token_by_hash(self, secret_hash: str) -> Token | None:
        """The token whose secret hashes to ``secret_hash`` (revoked ones included)."""
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = ?", (secret_hash,))
            row = cur.fetchone()
        return None if row is None else row_to_token(row)

    def list_tokens(self) -> list[Token]:
        """Every token, oldest first."""
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id")
            return [row_to_token(row) for row in cur.fetchall()]

    def revoke_token(self, token_id: int, now: float) -> bool:
        """Revoke a token for good; False if it does not exist or was already revoked."""
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", (now, token_id)
            )
            return cur.rowcount == 1

    def touch_token(self, token_id: int, now: float) -> None:
        """Record when a token was last used."""
        with self._tx(write=True) as cur:
            cur.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (now, token_id))

    def count_tokens(self) -> int:
        """How many tokens exist, revoked ones included (0 means a fresh database)."""
        with self._tx(write=False) as cur:
            cur.execute("SELECT COUNT(*) FROM tokens")
            return int(cur.fetchone()[0])
