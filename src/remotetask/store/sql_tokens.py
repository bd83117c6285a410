"""The verbs around the queue in portable SQL: API tokens, worker rows and gauges.

None of these changes a job: they keep who may call the API, which worker
processes are alive, and the counts the metrics and the UI read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remotetask import jsonvalue
from remotetask.auth import Role, Token
from remotetask.jobs import Status
from remotetask.refs import ServiceRef
from remotetask.store._sqlbase import JOB_FROM, SqlVerbs
from remotetask.workers import WorkerInfo

TOKEN_COLUMNS = "id, name, role, sites, created, expires, revoked, last_used"


def row_to_token(row: Sequence[Any]) -> Token:
    """A Token from a row selected with TOKEN_COLUMNS."""
    return Token(
        id=int(row[0]),
        name=row[1],
        role=Role(row[2]),
        sites=tuple(jsonvalue.loads(row[3])),
        created=float(row[4]),
        expires=row[5],
        revoked=row[6],
        last_used=row[7],
    )


class TokenVerbs(SqlVerbs):
    """Verbs on ``tokens`` and ``workers``, and read-only counts over ``jobs``."""

    # -- API tokens -------------------------------------------------------------------

    def insert_token(
        self,
        name: str,
        secret_hash: str,
        role: Role,
        sites: Sequence[str],
        now: float,
        expires: float | None,
    ) -> Token:
        with self._tx(write=True) as cur:
            cur.execute(
                "INSERT INTO tokens (name, secret_hash, role, sites, created, expires) "
                f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {TOKEN_COLUMNS}",
                (name, secret_hash, str(role), jsonvalue.dumps(list(sites)), now, expires),
            )
            return row_to_token(cur.fetchone())

    def token_by_hash(self, secret_hash: str) -> Token | None:
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = ?", (secret_hash,))
            row = cur.fetchone()
        return None if row is None else row_to_token(row)

    def list_tokens(self) -> list[Token]:
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id")
            return [row_to_token(row) for row in cur.fetchall()]

    def revoke_token(self, token_id: int, now: float) -> bool:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", (now, token_id)
            )
            return cur.rowcount == 1

    def touch_token(self, token_id: int, now: float) -> None:
        with self._tx(write=True) as cur:
            cur.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (now, token_id))

    def count_tokens(self) -> int:
        with self._tx(write=False) as cur:
            cur.execute("SELECT COUNT(*) FROM tokens")
            return int(cur.fetchone()[0])

    # -- worker processes -------------------------------------------------------------

    def register_worker(self, worker: WorkerInfo) -> None:
        with self._tx(write=True) as cur:
            cur.execute(
                "INSERT INTO workers (name, host, pid, services, started, last_heartbeat) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET host = excluded.host, "
                "pid = excluded.pid, services = excluded.services, started = excluded.started, "
                "last_heartbeat = excluded.last_heartbeat",
                (
                    worker.name,
                    worker.host,
                    worker.pid,
                    jsonvalue.dumps(list(worker.services)),
                    worker.started,
                    worker.last_heartbeat,
                ),
            )

    def heartbeat_worker(self, name: str, now: float) -> bool:
        with self._tx(write=True) as cur:
            cur.execute("UPDATE workers SET last_heartbeat = ? WHERE name = ?", (now, name))
            return cur.rowcount == 1

    def remove_worker(self, name: str) -> bool:
        with self._tx(write=True) as cur:
            cur.execute("DELETE FROM workers WHERE name = ?", (name,))
            return cur.rowcount == 1

    def workers(self) -> list[WorkerInfo]:
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT name, host, pid, services, started, last_heartbeat FROM workers "
                "ORDER BY name"
            )
            return [
                WorkerInfo(
                    name, host, int(pid), tuple(jsonvalue.loads(services)), float(s), float(hb)
                )
                for name, host, pid, services, s, hb in cur.fetchall()
            ]

    # -- gauges -----------------------------------------------------------------------

    def status_counts(self) -> dict[tuple[ServiceRef, Status], int]:
        """Jobs per (service, status) across every service, for the queue-depth gauge."""
        with self._tx(write=False) as cur:
            cur.execute(
                f"SELECT s.site, s.name, j.status, COUNT(*) FROM {JOB_FROM} "
                "GROUP BY s.site, s.name, j.status"
            )
            return {
                (ServiceRef(site, name), Status(status)): int(count)
                for site, name, status, count in cur.fetchall()
            }
