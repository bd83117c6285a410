"""The SQL shared by every backend, written once with ``?`` placeholders.

Backends supply connections and transactions (``_tx``) and the one statement
that differs between dialects, the claim. Everything else is portable SQL:
JSON is kept as text, booleans as integers, times as epoch seconds.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from remotetask import jsonvalue
from remotetask.errors import UnknownServiceError
from remotetask.jobs import (
    COMPLETED,
    CRONJOB,
    DELAYED,
    ERROR,
    FINISHED,
    PROCESSING,
    QUEUED,
    CronRun,
    Job,
    JobQuery,
    Outcome,
    Status,
)
from remotetask.refs import ServiceRef
from remotetask.schedule import Schedule
from remotetask.store.base import Claim, NewJob
from remotetask.store.migrate import latest_version
from remotetask.store.sql_admin import AdminSqlVerbs
from remotetask.workers import WorkerInfo

NEVER = 253402300799.0
"""Next call time of a schedule with nothing due within its horizon (9999-12-31)."""

JOB_COLUMNS = (
    "j.id, s.site, s.name, j.task, j.input, j.status, j.result, j.error, j.traceback, "
    "j.attempts, j.progress, j.progress_message, j.created, j.started, j.ended, "
    "j.schedule, j.next_call, j.cancel_requested, j.claim"
)
JOB_FROM = "jobs j JOIN services s ON s.id = j.service_id"
RUN_COLUMNS = "id, job_id, scheduled_for, started, ended, result, error"
INSERT_JOB = (
    "INSERT INTO jobs (service_id, task, input, status, schedule, created, idempotency_key) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class Cursor(Protocol):
    """The part of a DB-API cursor the shared SQL needs."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


def row_to_job(row: Sequence[Any]) -> Job:
    """Build a Job from a row selected with JOB_COLUMNS."""
    schedule = Schedule.from_json(jsonvalue.loads(row[15])) if row[15] else None
    next_call = None if row[16] is None or row[16] >= NEVER else float(row[16])
    return Job(
        id=int(row[0]),
        service=str(ServiceRef(row[1], row[2])),
        task=row[3],
        input=jsonvalue.loads(row[4]),
        status=Status(row[5]),
        result=jsonvalue.loads(row[6]),
        error=row[7],
        traceback=row[8],
        attempts=int(row[9]),
        progress=row[10],
        progress_message=row[11],
        created=float(row[12]),
        started=row[13],
        ended=row[14],
        schedule=schedule,
        next_call=next_call,
        cancel_requested=bool(row[17]),
    )


def row_to_claim(row: Sequence[Any]) -> Claim:
    """A Claim from a row selected with JOB_COLUMNS (the claim key is the last column)."""
    return Claim(row_to_job(row), row[18])


def row_to_run(row: Sequence[Any]) -> CronRun:
    return CronRun(
        id=int(row[0]),
        job_id=int(row[1]),
        scheduled_for=float(row[2]),
        started=float(row[3]),
        ended=row[4],
        result=jsonvalue.loads(row[5]),
        error=row[6],
    )


def new_claim_key() -> str:
    """A claim key: unguessable and unique, so a superseded run can never match."""
    return secrets.token_hex(12)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


class SqlStore(AdminSqlVerbs, ABC):
    """Store verbs in portable SQL over a backend's transactions."""

    dialect: str
    """The folder of this backend's migrations: ``sqlite`` or ``postgresql``."""
    floor_sql = "CAST({} AS BIGINT)"
    """Rounds a non-negative number down: SQLite's CAST truncates (PostgreSQL's rounds)."""

    def __init__(self) -> None:
        self._service_ids: dict[ServiceRef, int] = {}

    @abstractmethod
    def _tx(self, write: bool, single: bool = False) -> AbstractContextManager[Cursor]:
        """A transaction: ``write`` ones take the write lock before reading.

        ``single`` promises that the body writes with one statement (after cached or
        harmless reads), which is atomic on its own: a server backend may then skip
        the BEGIN/COMMIT round trips. Used on the hot path (claim, finish).
        """

    @abstractmethod
    def _claim_rows(
        self, cur: Cursor, service_id: int, now: float, limit: int, params: Sequence[Any]
    ) -> list[Any]:
        """Mark due jobs as claimed (``SET`` values in ``params``) and return their rows."""

    @abstractmethod
    def close(self) -> None: ...

    def latest_schema_version(self) -> int:
        return latest_version(self.dialect)

    # -- services ---------------------------------------------------------------------

    def ensure_service(self, ref: ServiceRef) -> None:
        with self._tx(write=True) as cur:
            cur.execute(
                "INSERT INTO services (site, name) VALUES (?, ?) "
                "ON CONFLICT (site, name) DO NOTHING",
                (ref.site, ref.name),
            )

    def services(self) -> list[ServiceRef]:
        with self._tx(write=False) as cur:
            cur.execute("SELECT site, name FROM services ORDER BY site, name")
            return [ServiceRef(site, name) for site, name in cur.fetchall()]

    def _service_id(self, cur: Cursor, ref: ServiceRef) -> int:
        cached = self._service_ids.get(ref)
        if cached is not None:
            return cached
        cur.execute("SELECT id FROM services WHERE site = ? AND name = ?", (ref.site, ref.name))
        row = cur.fetchone()
        if row is None:
            raise UnknownServiceError(f"no service {ref}")
        self._service_ids[ref] = int(row[0])
        return int(row[0])

    # -- jobs -------------------------------------------------------------------------

    def insert_jobs(self, ref: ServiceRef, jobs: Sequence[NewJob], now: float) -> list[int]:
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            if all(job.idempotency_key is None for job in jobs):
                rows = [
                    (sid, job.task, job.input_json, job.status.value, job.schedule_json, now, None)
                    for job in jobs
                ]
                ids = self._insert_rows(cur, rows)
            else:
                ids = [self._insert_once(cur, sid, job, now) for job in jobs]
            self._after_insert(cur, ref)
        return ids

    def _insert_once(self, cur: Cursor, sid: int, job: NewJob, now: float) -> int:
        """Insert a job unless its idempotency key is taken; either way return its id.

        ON CONFLICT, not a look-up first: two concurrent adds with one key must both
        get the first id, also where writers do not serialise (PostgreSQL).
        """
        row = (
            sid,
            job.task,
            job.input_json,
            job.status.value,
            job.schedule_json,
            now,
            job.idempotency_key,
        )
        cur.execute(
            INSERT_JOB + " ON CONFLICT (service_id, idempotency_key) "
            "WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id",
            row,
        )
        found = cur.fetchone()
        if found is None:
            cur.execute(
                "SELECT id FROM jobs WHERE service_id = ? AND idempotency_key = ?",
                (sid, job.idempotency_key),
            )
            found = cur.fetchone()
        return int(found[0])

    def _insert_rows(self, cur: Cursor, rows: Sequence[tuple[Any, ...]]) -> list[int]:
        """Insert job rows (columns of INSERT_JOB) and return their ids in order."""
        ids = []
        for row in rows:
            cur.execute(INSERT_JOB + " RETURNING id", row)
            ids.append(int(cur.fetchone()[0]))
        return ids

    def _after_insert(self, cur: Cursor, ref: ServiceRef) -> None:
        """Hook run in the inserting transaction (PostgreSQL sends its wake-up NOTIFY here)."""

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Wake-up notifications for jobs added by other processes; none without a backend hook."""

    def get_job(self, ref: ServiceRef, job_id: int) -> Job | None:
        with self._tx(write=False) as cur:
            cur.execute(
                f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} "
                "WHERE j.id = ? AND s.site = ? AND s.name = ?",
                (job_id, ref.site, ref.name),
            )
            row = cur.fetchone()
        return None if row is None else row_to_job(row)

    def job_ids(self, ref: ServiceRef) -> list[int]:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute("SELECT id FROM jobs WHERE service_id = ? ORDER BY id", (sid,))
            return [int(row[0]) for row in cur.fetchall()]

    def list_jobs(self, ref: ServiceRef, query: JobQuery) -> list[Job]:
        where = ["j.service_id = ?"]
        params: list[Any] = []
        if query.statuses:
            where.append(f"j.status IN ({placeholders(len(query.statuses))})")
            params.extend(sorted(str(s) for s in query.statuses))
        if query.task is not None:
            where.append("j.task = ?")
            params.append(query.task)
        if query.after_id is not None:
            where.append("j.id < ?" if query.newest_first else "j.id > ?")
            params.append(query.after_id)
        order = "DESC" if query.newest_first else "ASC"
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE {' AND '.join(where)} "
                f"ORDER BY j.id {order} LIMIT ?",
                (sid, *params, query.limit),
            )
            return [row_to_job(row) for row in cur.fetchall()]

    def count_by_status(self, ref: ServiceRef) -> dict[Status, int]:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "SELECT status, COUNT(*) FROM jobs WHERE service_id = ? GROUP BY status", (sid,)
            )
            return {Status(status): int(count) for status, count in cur.fetchall()}

    def transition(
        self, ref: ServiceRef, job_id: int, sources: frozenset[Status], target: Status, now: float
    ) -> bool:
        ended = now if target in FINISHED else None
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"UPDATE jobs SET status = ?, ended = COALESCE(?, ended) WHERE id = ? "
                f"AND service_id = ? AND status IN ({placeholders(len(sources))})",
                (str(target), ended, job_id, sid, *sorted(str(s) for s in sources)),
            )
            return cur.rowcount == 1

    def request_cancel(self, ref: ServiceRef, job_id: int) -> bool:
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND service_id = ? "
                "AND status = ?",
                (job_id, sid, str(PROCESSING)),
            )
            return cur.rowcount == 1

    def cancel_requested(self, job_id: int) -> bool:
        with self._tx(write=False) as cur:
            cur.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
            row = cur.fetchone()
        return row is not None and bool(row[0])

    def delete_jobs(self, ref: ServiceRef, statuses: frozenset[Status]) -> int:
        if not statuses:
            return 0
        marks = placeholders(len(statuses))
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"DELETE FROM cron_runs WHERE job_id IN (SELECT id FROM jobs WHERE "
                f"service_id = ? AND status IN ({marks}))",
                (sid, *sorted(str(s) for s in statuses)),
            )
            cur.execute(
                f"DELETE FROM jobs WHERE service_id = ? AND status IN ({marks})",
                (sid, *sorted(str(s) for s in statuses)),
            )
            return cur.rowcount

    # -- schedules --------------------------------------------------------------------

    def set_schedule(self, ref: ServiceRef, job_id: int, schedule_json: str | None) -> bool:
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "UPDATE jobs SET schedule = COALESCE(?, schedule), next_call = NULL "
                "WHERE id = ? AND service_id = ? AND status IN (?, ?)",
                (schedule_json, job_id, sid, str(CRONJOB), str(DELAYED)),
            )
            return cur.rowcount == 1

    def unscheduled(self, ref: ServiceRef) -> list[Job]:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.service_id = ? "
                "AND j.status IN (?, ?) AND j.next_call IS NULL ORDER BY j.id",
                (sid, str(CRONJOB), str(DELAYED)),
            )
            return [row_to_job(row) for row in cur.fetchall()]

    def set_next_call(self, job_id: int, next_call: float | None) -> bool:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE jobs SET next_call = ? WHERE id = ? AND next_call IS NULL",
                (NEVER if next_call is None else next_call, job_id),
            )
            return cur.rowcount == 1

    def has_due(self, ref: ServiceRef, now: float) -> bool:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "SELECT 1 FROM jobs WHERE service_id = ? AND ("
                "(status = ? AND (next_call IS NULL OR next_call <= ?)) "
                "OR (status IN (?, ?) AND next_call <= ?)) LIMIT 1",
                (sid, str(QUEUED), now, str(DELAYED), str(CRONJOB), now),
            )
            return cur.fetchone() is not None

    def next_due(self, ref: ServiceRef) -> float | None:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "SELECT MIN(next_call) FROM jobs WHERE service_id = ? AND status IN (?, ?, ?) "
                "AND next_call IS NOT NULL",
                (sid, str(QUEUED), str(DELAYED), str(CRONJOB)),
            )
            row = cur.fetchone()
        value = None if row is None else row[0]
        return None if value is None or value >= NEVER else float(value)

    # -- claims and runs --------------------------------------------------------------

    def claim(
        self, ref: ServiceRef, now: float, limit: int, worker: str, lease_until: float
    ) -> list[Claim]:
        with self._tx(write=True, single=True) as cur:
            return self._claim(cur, ref, now, limit, worker, lease_until)

    def _claim(
        self,
        cur: Cursor,
        ref: ServiceRef,
        now: float,
        limit: int,
        worker: str,
        lease_until: float,
    ) -> list[Claim]:
        rows = self._claim_rows(
            cur, self._service_id(cur, ref), now, limit, (now, lease_until, worker)
        )
        claims = [row_to_claim(row) for row in rows]
        claims.sort(key=lambda c: c.job.id)
        return claims

    def finish(
        self, job_id: int, key: str, outcome: Outcome, now: float, *, expired_only: bool = False
    ) -> bool:
        with self._tx(write=True, single=True) as cur:
            return self._finish(cur, job_id, key, outcome, now, expired_only)

    def finish_and_claim(
        self,
        job_id: int,
        key: str,
        outcome: Outcome,
        now: float,
        ref: ServiceRef,
        worker: str,
        lease_until: float,
    ) -> tuple[bool, list[Claim]]:
        with self._tx(write=True) as cur:
            finished = self._finish(cur, job_id, key, outcome, now, False)
            return finished, self._claim(cur, ref, now, 1, worker, lease_until)

    def _finish(
        self,
        cur: Cursor,
        job_id: int,
        key: str,
        outcome: Outcome,
        now: float,
        expired_only: bool,
    ) -> bool:
        guard = " AND lease_until < ?" if expired_only else ""
        extra: tuple[float, ...] = (now,) if expired_only else ()
        cur.execute(
            "UPDATE jobs SET status = CASE WHEN cancel_requested = 1 THEN ? ELSE ? END, "
            "result = ?, error = ?, traceback = ?, next_call = ?, ended = ?, "
            "claim = NULL, lease_until = NULL WHERE id = ? AND claim = ?" + guard,
            (
                str(Status.CANCELLED),
                str(outcome.status),
                outcome.result_json,
                outcome.error,
                outcome.traceback,
                outcome.next_call,
                now,
                job_id,
                key,
                *extra,
            ),
        )
        return cur.rowcount == 1

    def release(self, job_id: int, key: str) -> bool:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE jobs SET status = ?, attempts = attempts - 1, claim = NULL, "
                "lease_until = NULL, started = NULL WHERE id = ? AND claim = ?",
                (str(QUEUED), job_id, key),
            )
            return cur.rowcount == 1

    def renew_leases(
        self, jobs: Sequence[tuple[int, str]], runs: Sequence[tuple[int, str]], lease_until: float
    ) -> int:
        if not jobs and not runs:
            return 0
        renewed = 0
        with self._tx(write=True) as cur:
            for table, claims in (("jobs", jobs), ("cron_runs", runs)):
                for row_id, key in claims:
                    cur.execute(
                        f"UPDATE {table} SET lease_until = ? WHERE id = ? AND claim = ?",
                        (lease_until, row_id, key),
                    )
                    renewed += cur.rowcount
        return renewed

    def expired_claims(self, ref: ServiceRef, now: float) -> list[Claim]:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.service_id = ? AND j.status = ? "
                "AND j.lease_until < ? ORDER BY j.id",
                (sid, str(PROCESSING), now),
            )
            return [row_to_claim(row) for row in cur.fetchall()]

    def fail_expired_cron_runs(self, ref: ServiceRef, now: float, error: str) -> int:
        """End cron runs whose worker vanished (lease ran out) with ``error``."""
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "UPDATE cron_runs SET ended = ?, error = ?, claim = NULL, lease_until = NULL "
                "WHERE ended IS NULL AND lease_until < ? AND job_id IN "
                "(SELECT id FROM jobs WHERE service_id = ?)",
                (now, error, now, sid),
            )
            return cur.rowcount

    def report_progress(self, job_id: int, key: str, fraction: float, message: str | None) -> bool:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE jobs SET progress = ?, progress_message = ? WHERE id = ? AND claim = ?",
                (fraction, message, job_id, key),
            )
            return cur.rowcount == 1

    def due_cron_jobs(self, ref: ServiceRef, now: float) -> list[Job]:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.service_id = ? AND j.status = ? "
                "AND j.next_call <= ? ORDER BY j.next_call, j.id",
                (sid, str(CRONJOB), now),
            )
            return [row_to_job(row) for row in cur.fetchall()]

    def fire_cron(
        self,
        job_id: int,
        scheduled_for: float,
        next_call: float | None,
        now: float,
        lease_until: float,
    ) -> tuple[CronRun, str] | None:
        key = new_claim_key()
        try:
            return self._fire_cron(job_id, scheduled_for, next_call, now, lease_until, key)
        except _Rollback:
            return None

    def _fire_cron(
        self,
        job_id: int,
        scheduled_for: float,
        next_call: float | None,
        now: float,
        lease_until: float,
        key: str,
    ) -> tuple[CronRun, str] | None:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE jobs SET next_call = ?, started = ? WHERE id = ? AND status = ? "
                "AND next_call = ?",
                (
                    NEVER if next_call is None else next_call,
                    now,
                    job_id,
                    str(CRONJOB),
                    scheduled_for,
                ),
            )
            if cur.rowcount != 1:
                return None
            cur.execute(
                "INSERT INTO cron_runs (job_id, scheduled_for, started, claim, lease_until) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id, scheduled_for) DO NOTHING "
                f"RETURNING {RUN_COLUMNS}",
                (job_id, scheduled_for, now, key, lease_until),
            )
            row = cur.fetchone()
            if row is None:
                raise _Rollback
        return row_to_run(row), key

    def finish_cron_run(self, run_id: int, key: str, outcome: Outcome, now: float) -> bool:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE cron_runs SET ended = ?, result = ?, error = ?, traceback = ?, "
                "claim = NULL, lease_until = NULL WHERE id = ? AND claim = ? RETURNING job_id",
                (now, outcome.result_json, outcome.error, outcome.traceback, run_id, key),
            )
            row = cur.fetchone()
            if row is None:
                return False
            cur.execute(
                "UPDATE jobs SET result = COALESCE(?, result), error = ?, traceback = ?, "
                "ended = ?, attempts = attempts + 1 WHERE id = ?",
                (outcome.result_json, outcome.error, outcome.traceback, now, row[0]),
            )
            return True

    def cron_runs(self, ref: ServiceRef, job_id: int, limit: int = 50) -> list[CronRun]:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT {RUN_COLUMNS} FROM cron_runs WHERE job_id IN "
                "(SELECT id FROM jobs WHERE id = ? AND service_id = ?) "
                "ORDER BY scheduled_for DESC LIMIT ?",
                (job_id, sid, limit),
            )
            return [row_to_run(row) for row in cur.fetchall()]

    # -- retention --------------------------------------------------------------------

    def prune(self, ref: ServiceRef, status: Status, older_than: float, batch: int) -> int:
        if status not in FINISHED:
            raise ValueError(f"only finished jobs are pruned, not {status!r}")
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "SELECT id FROM jobs WHERE service_id = ? AND status = ? AND ended < ? "
                "ORDER BY id LIMIT ?",
                (sid, str(status), older_than, batch),
            )
            ids = [int(row[0]) for row in cur.fetchall()]
            if not ids:
                return 0
            marks = placeholders(len(ids))
            cur.execute(f"DELETE FROM cron_runs WHERE job_id IN ({marks})", ids)
            cur.execute(
                f"DELETE FROM jobs WHERE id IN ({marks}) AND status = ?", (*ids, str(status))
            )
            return cur.rowcount

    # -- workers ----------------------------------------------------------------------

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

    def finished_per_minute(self, ref: ServiceRef, since: float) -> dict[int, int]:
        minute = self.floor_sql.format("(ended - ?) / 60")
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT {minute} AS minute, COUNT(*) "
                "FROM jobs WHERE service_id = ? AND status IN (?, ?) AND ended >= ? "
                "GROUP BY minute",
                (since, sid, str(COMPLETED), str(ERROR), since),
            )
            return {int(minute): int(count) for minute, count in cur.fetchall()}


class _Rollback(Exception):
    """Raised inside a transaction to undo it; never escapes the store."""
