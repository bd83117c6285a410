"""The job verbs in portable SQL: add, read, change status, claim, finish, lease, prune.

A dialect supplies only the claim statement (``_claim_rows``) and, if it can do
better, how a batch is inserted (``_insert_rows``) and how other processes learn
of an insert (PostgreSQL's NOTIFY in the transaction, SQLite's wake-up datagrams
after the commit).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from remotetask.failures import normalise
from remotetask.jobs import (
    CANCELLABLE,
    CANCELLED,
    ERROR,
    FINISHED,
    PROCESSING,
    QUEUED,
    Job,
    Outcome,
    Status,
)
from remotetask.refs import ServiceRef
from remotetask.store._sqlbase import (
    JOB_COLUMNS,
    JOB_FROM,
    Cursor,
    SqlVerbs,
    placeholders,
    row_to_claim,
    row_to_job,
    status_values,
)
from remotetask.store.base import Claim, Finish, Inserted, NewJob

INSERT_JOB = (
    "INSERT INTO jobs (service_id, task, input, status, schedule, created, idempotency_key) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def job_row(sid: int, job: NewJob, now: float) -> tuple[Any, ...]:
    """The values of ``INSERT_JOB`` for ``job`` of service row ``sid``, added at ``now``."""
    return (
        sid,
        job.task,
        job.input_json,
        str(job.status),
        job.schedule_json,
        now,
        job.idempotency_key,
    )


class JobVerbs(SqlVerbs):
    """Verbs on the ``jobs`` table (and the cron runs of jobs they delete)."""

    @abstractmethod
    def _keep_attempt_error(self, cur: Cursor, job_id: int) -> None:
        """Copy the failed run just stored on the job into its attempt history."""

    @abstractmethod
    def _claim_rows(
        self,
        cur: Cursor,
        ref: ServiceRef,
        service_id: int,
        now: float,
        limit: int,
        params: Sequence[Any],
    ) -> list[Any]:
        """Mark due jobs as claimed (``SET`` values in ``params``) and return their rows."""

    # -- adding -----------------------------------------------------------------------

    def insert_jobs(self, ref: ServiceRef, jobs: Sequence[NewJob], now: float) -> Inserted:
        if not jobs:
            return Inserted([])
        keys = [job.idempotency_key for job in jobs]
        if keys.count(None) < len(keys):  # any key (a list's count is cheaper than any())
            with self._tx(write=True) as cur:
                sid = self._service_id(cur, ref)
                stored = [self._insert_once(cur, sid, job, now) for job in jobs]
                self._after_insert(cur, ref)
            inserted = Inserted(
                [job_id for job_id, _ in stored],
                frozenset(n for n, (_, fresh) in enumerate(stored) if not fresh),
            )
        else:
            # One statement (with the wake-up) where the backend can: see ``_insert_rows``.
            with self._tx(write=True, single=True) as cur:
                sid = self._service_id(cur, ref)
                inserted = Inserted(self._insert_rows(cur, ref, sid, jobs, now))
        self._after_insert_commit(ref)
        return inserted

    def _insert_once(self, cur: Cursor, sid: int, job: NewJob, now: float) -> tuple[int, bool]:
        """Insert a job unless its idempotency key is taken; its id, and whether it is new.

        ON CONFLICT, not a look-up first: two concurrent adds with one key must both
        get the first id, also where writers do not serialise (PostgreSQL).
        """
        cur.execute(
            INSERT_JOB + " ON CONFLICT (service_id, idempotency_key) "
            "WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id",
            job_row(sid, job, now),
        )
        found = cur.fetchone()
        if found is not None:
            return int(found[0]), True
        cur.execute(
            "SELECT id FROM jobs WHERE service_id = ? AND idempotency_key = ?",
            (sid, job.idempotency_key),
        )
        return int(cur.fetchone()[0]), False

    @abstractmethod
    def _insert_rows(
        self, cur: Cursor, ref: ServiceRef, sid: int, jobs: Sequence[NewJob], now: float
    ) -> list[int]:
        """Insert jobs without idempotency keys, tell ``_after_insert``'s listeners, and
        return the ids in order: in one statement where ``_tx(single=True)`` runs without
        BEGIN/COMMIT, so the insert is all or nothing."""

    def _after_insert(self, cur: Cursor, ref: ServiceRef) -> None:
        """Hook run in the inserting transaction (PostgreSQL sends its wake-up NOTIFY here)."""

    def _after_insert_commit(self, ref: ServiceRef) -> None:
        """Hook run once the insert is committed (SQLite wakes other processes here)."""

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Wake-up notifications for jobs added by other processes; none without a backend hook."""

    # -- reading ----------------------------------------------------------------------

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

    def count_by_status(self, ref: ServiceRef) -> dict[Status, int]:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "SELECT status, COUNT(*) FROM jobs WHERE service_id = ? GROUP BY status", (sid,)
            )
            return {Status(status): int(count) for status, count in cur.fetchall()}

    def cancel_requested(self, job_id: int) -> bool:
        with self._tx(write=False) as cur:
            cur.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
            row = cur.fetchone()
        return row is not None and bool(row[0])

    # -- status changes a user or operator asks for ------------------------------------

    def transition(
        self, ref: ServiceRef, job_id: int, sources: frozenset[Status], target: Status, now: float
    ) -> bool:
        ended = now if target in FINISHED else None
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"UPDATE jobs SET status = ?, ended = COALESCE(?, ended) WHERE id = ? "
                f"AND service_id = ? AND status IN ({placeholders(len(sources))})",
                (str(target), ended, job_id, sid, *status_values(sources)),
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

    def cancel_waiting(self, ref: ServiceRef, now: float) -> int:
        statuses = status_values(CANCELLABLE)
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"UPDATE jobs SET status = ?, ended = ? WHERE service_id = ? "
                f"AND status IN ({placeholders(len(statuses))})",
                (str(CANCELLED), now, sid, *statuses),
            )
            return cur.rowcount

    def retry_job(self, ref: ServiceRef, job_id: int, input_json: str | None = None) -> bool:
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "UPDATE jobs SET status = ?, attempts = 0, error = NULL, traceback = NULL, "
                "result = NULL, started = NULL, ended = NULL, next_call = NULL, progress = NULL, "
                "progress_message = NULL, cancel_requested = 0, error_type = NULL, "
                "error_group = NULL, input = COALESCE(?, input) "
                "WHERE id = ? AND service_id = ? AND status = ?",
                (str(QUEUED), input_json, job_id, sid, str(ERROR)),
            )
            return cur.rowcount == 1

    def delete_jobs(self, ref: ServiceRef, statuses: frozenset[Status]) -> int:
        if not statuses:
            return 0
        return self._delete(ref, None, statuses)

    def delete_job(self, ref: ServiceRef, job_id: int) -> bool:
        return self._delete(ref, job_id, FINISHED) == 1

    def _delete(self, ref: ServiceRef, job_id: int | None, statuses: frozenset[Status]) -> int:
        """Delete the service's jobs (one, or all when ``job_id`` is None) with these statuses.

        Their cron runs go first, in the same transaction (the foreign key needs it).
        """
        which = "service_id = ?" if job_id is None else "id = ? AND service_id = ?"
        where = f"{which} AND status IN ({placeholders(len(statuses))})"
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            params = (*(() if job_id is None else (job_id,)), sid, *status_values(statuses))
            cur.execute(
                f"DELETE FROM cron_runs WHERE job_id IN (SELECT id FROM jobs WHERE {where})",
                params,
            )
            cur.execute(f"DELETE FROM jobs WHERE {where}", params)
            return cur.rowcount

    # -- claims and runs --------------------------------------------------------------

    def claim(
        self, ref: ServiceRef, now: float, limit: int, worker: str, lease_until: float
    ) -> list[Claim]:
        with self._tx(write=True, single=True) as cur:
            rows = self._claim(cur, ref, now, limit, worker, lease_until)
        return claims_of(rows)

    def _claim(
        self,
        cur: Cursor,
        ref: ServiceRef,
        now: float,
        limit: int,
        worker: str,
        lease_until: float,
    ) -> list[Any]:
        """The claimed rows; ``claims_of`` turns them into claims once the write is over."""
        sid = self._service_id(cur, ref)
        return self._claim_rows(cur, ref, sid, now, limit, (now, lease_until, worker))

    def finish(
        self, job_id: int, key: str, outcome: Outcome, now: float, *, expired_only: bool = False
    ) -> bool:
        with self._tx(write=True, single=True) as cur:
            return self._finish(cur, job_id, key, outcome, now, expired_only)

    def finish_many(
        self,
        finishes: Sequence[Finish],
        ref: ServiceRef,
        limit: int,
        worker: str,
        now: float,
        lease_until: float,
    ) -> tuple[list[bool], list[Claim] | None]:
        """One transaction, so one commit (one fsync on SQLite) for the batch and the claim."""
        with self._tx(write=True) as cur:
            stored = [
                self._finish(cur, f.job_id, f.key, f.outcome, f.ended, False) for f in finishes
            ]
            rows = self._claim(cur, ref, now, limit, worker, lease_until) if limit > 0 else []
        return stored, claims_of(rows)

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
            "claim = NULL, lease_until = NULL, error_type = ?, error_group = ? "
            "WHERE id = ? AND claim = ?" + guard,
            (
                str(CANCELLED),
                str(outcome.status),
                outcome.result_json,
                outcome.error,
                outcome.traceback,
                outcome.next_call,
                now,
                outcome.error_type,
                None if outcome.error is None else normalise(outcome.error),
                job_id,
                key,
                *extra,
            ),
        )
        finished = cur.rowcount == 1
        if finished and outcome.error is not None:
            self._keep_attempt_error(cur, job_id)
        return finished

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
    ) -> set[str]:
        lost: set[str] = set()
        if not jobs and not runs:
            return lost
        with self._tx(write=True) as cur:
            for table, claims in (("jobs", jobs), ("cron_runs", runs)):
                if claims:
                    lost.update(self._renew_rows(cur, table, claims, lease_until))
        return lost

    def _renew_rows(
        self, cur: Cursor, table: str, claims: Sequence[tuple[int, str]], lease_until: float
    ) -> set[str]:
        """Renew the (row id, key) ``claims`` of ``table``; the keys that no longer matched.

        A statement per claim: on SQLite each is a look-up by row id inside the write
        transaction, which costs microseconds (PostgreSQL sends one statement instead).
        """
        lost: set[str] = set()
        for row_id, key in claims:
            cur.execute(
                f"UPDATE {table} SET lease_until = ? WHERE id = ? AND claim = ?",
                (lease_until, row_id, key),
            )
            if cur.rowcount == 0:
                lost.add(key)
        return lost

    def expired_claims(self, ref: ServiceRef, now: float) -> list[Claim]:
        rows = self._select_jobs(
            ref, "j.status = ? AND j.lease_until < ? ORDER BY j.id", (str(PROCESSING), now)
        )
        return [row_to_claim(row) for row in rows]

    def report_progress(self, job_id: int, key: str, fraction: float, message: str | None) -> bool:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE jobs SET progress = ?, progress_message = ? WHERE id = ? AND claim = ?",
                (fraction, message, job_id, key),
            )
            return cur.rowcount == 1

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


def claims_of(rows: Sequence[Any]) -> list[Claim]:
    """Claims from claimed rows, oldest job first.

    Built after the commit: on SQLite the write lock is the one thing all processes
    wait for, so the Python that needs no database runs outside it.
    """
    claims = [row_to_claim(row) for row in rows]
    claims.sort(key=lambda c: c.job.id)
    return claims
