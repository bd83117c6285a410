"""The schedule verbs in portable SQL: next call times, what is due, cron firings and runs.

A cron job stays one ``jobs`` row with status ``cronjob``; each firing is a
``cron_runs`` row, unique per (job, scheduled time), which is what makes a
firing happen exactly once however many workers try. A firing to be tried again
(its task raised, its retry policy allows another run) keeps its row: the claim
is dropped, ``retry_at`` set, and the next claim of the row counts an attempt.
"""

from __future__ import annotations

from remotetask.jobs import CRONJOB, DELAYED, QUEUED, CronRun, Job, Outcome
from remotetask.refs import ServiceRef
from remotetask.store._sqlbase import (
    NEVER,
    RUN_COLUMNS,
    Cursor,
    SqlVerbs,
    new_claim_key,
    placeholders,
    row_to_job,
    row_to_run,
)


class CronVerbs(SqlVerbs):
    """Verbs on schedules (``jobs.schedule``, ``jobs.next_call``) and on ``cron_runs``."""

    # -- next call times --------------------------------------------------------------

    def set_schedule(self, ref: ServiceRef, job_id: int, schedule_json: str | None) -> bool:
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "UPDATE jobs SET schedule = COALESCE(?, schedule), "
                "next_call = CASE WHEN paused = 1 THEN ? ELSE NULL END "
                "WHERE id = ? AND service_id = ? AND status IN (?, ?)",
                (schedule_json, NEVER, job_id, sid, str(CRONJOB), str(DELAYED)),
            )
            return cur.rowcount == 1

    def unscheduled(self, ref: ServiceRef) -> list[Job]:
        rows = self._select_jobs(
            ref,
            "j.status IN (?, ?) AND j.next_call IS NULL ORDER BY j.id",
            (str(CRONJOB), str(DELAYED)),
        )
        return [row_to_job(row) for row in rows]

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
            return cur.fetchone() is not None or _retry_due(cur, sid, now)

    def next_due(self, ref: ServiceRef) -> float | None:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "SELECT MIN(next_call) FROM jobs WHERE service_id = ? AND status IN (?, ?, ?) "
                "AND next_call IS NOT NULL",
                (sid, str(QUEUED), str(DELAYED), str(CRONJOB)),
            )
            row = cur.fetchone()
            cur.execute(f"SELECT MIN(r.retry_at) FROM {_RETRIES}", (sid,))
            retry = cur.fetchone()
        times = [float(r[0]) for r in (row, retry) if r is not None and r[0] is not None]
        soonest = min(times, default=None)
        return None if soonest is None or soonest >= NEVER else soonest

    # -- cron firings -----------------------------------------------------------------

    def due_cron_jobs(self, ref: ServiceRef, now: float) -> list[Job]:
        rows = self._select_jobs(
            ref, "j.status = ? AND j.next_call <= ? ORDER BY j.next_call, j.id", (str(CRONJOB), now)
        )
        return [row_to_job(row) for row in rows]

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
        again = outcome.status == QUEUED  # to be tried again at outcome.next_call
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE cron_runs SET ended = ?, retry_at = ?, result = ?, error = ?, "
                "traceback = ?, error_type = ?, claim = NULL, lease_until = NULL "
                "WHERE id = ? AND claim = ? RETURNING job_id",
                (
                    None if again else now,
                    outcome.next_call if again else None,
                    outcome.result_json,
                    outcome.error,
                    outcome.traceback,
                    outcome.error_type,
                    run_id,
                    key,
                ),
            )
            row = cur.fetchone()
            if row is None:
                return False
            cur.execute(
                "UPDATE jobs SET result = COALESCE(?, result), error = ?, traceback = ?, "
                "error_type = ?, ended = ?, attempts = attempts + 1 WHERE id = ?",
                (
                    outcome.result_json,
                    outcome.error,
                    outcome.traceback,
                    outcome.error_type,
                    now,
                    row[0],
                ),
            )
            return True

    def claim_cron_retries(
        self, ref: ServiceRef, now: float, limit: int, lease_until: float
    ) -> list[tuple[Job, CronRun, str]]:
        with self._tx(write=False) as cur:
            if not _retry_due(cur, self._service_id(cur, ref), now):
                return []  # the common case: one indexed read, no write
        claimed: list[tuple[CronRun, str]] = []
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT r.id, j.status FROM {_RETRIES} AND r.retry_at <= ? "
                "ORDER BY r.retry_at, r.id LIMIT ?",
                (sid, now, limit),
            )
            for run_id, status in cur.fetchall():
                if status != str(CRONJOB):  # cancelled since: the firing ends as it stands
                    cur.execute(
                        "UPDATE cron_runs SET ended = ?, retry_at = NULL "
                        "WHERE id = ? AND retry_at IS NOT NULL",
                        (now, run_id),
                    )
                    continue
                key = new_claim_key()
                cur.execute(  # guarded: of workers racing for a run, one gets it
                    "UPDATE cron_runs SET claim = ?, lease_until = ?, retry_at = NULL, "
                    "attempts = attempts + 1 WHERE id = ? AND retry_at IS NOT NULL "
                    f"RETURNING {RUN_COLUMNS}",
                    (key, lease_until, run_id),
                )
                row = cur.fetchone()
                if row is not None:
                    claimed.append((row_to_run(row), key))
        if not claimed:
            return []
        ids = [run.job_id for run, _ in claimed]
        rows = self._select_jobs(ref, f"j.id IN ({placeholders(len(ids))})", ids)
        jobs = {job.id: job for job in map(row_to_job, rows)}
        return [(jobs[run.job_id], run, key) for run, key in claimed if run.job_id in jobs]

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


_RETRIES = (
    "cron_runs r JOIN jobs j ON j.id = r.job_id WHERE j.service_id = ? AND r.retry_at IS NOT NULL"
)
"""The service's firings waiting to be tried again; a query goes on with ``AND …``."""


def _retry_due(cur: Cursor, service_id: int, now: float) -> bool:
    """Whether a firing of the service waits to be tried again at ``now``."""
    cur.execute(f"SELECT 1 FROM {_RETRIES} AND r.retry_at <= ? LIMIT 1", (service_id, now))
    return cur.fetchone() is not None


class _Rollback(Exception):
    """Raised inside a transaction to undo it; never escapes the store."""
