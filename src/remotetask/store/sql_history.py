"""What happened to a service's jobs: failed attempts, error groups, counts, throughput.

None of these reads a service's whole history: counts stop at a cap, throughput
reads only the jobs that ended in the window asked for (an index on ``ended``),
and error groups read only the errored jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remotetask.failures import AttemptError, ErrorGroup
from remotetask.jobs import COMPLETED, ERROR, QUEUED, CronRun, Status
from remotetask.refs import ServiceRef
from remotetask.store._sqlbase import RUN_COLUMNS, Cursor, SqlVerbs, placeholders, row_to_run

SAMPLES = 3
"""Sample job ids kept per error group."""
SAMPLED_GROUPS = 50
"""Groups (the largest) whose sample jobs are read; one short index range each."""
_GROUP_KEY = "j.task = ? AND COALESCE(j.error_type, '') = ? AND COALESCE(j.error_group, '') = ?"


class HistoryVerbs(SqlVerbs):
    """Attempt history (``job_errors``), triage, capped counts, throughput, run pages."""

    floor_sql = "CAST({} AS BIGINT)"
    """Rounds a non-negative number down: SQLite's CAST truncates (PostgreSQL's rounds)."""

    def _keep_attempt_error(self, cur: Cursor, job_id: int) -> None:
        cur.execute(
            "INSERT INTO job_errors (job_id, attempt, started, ended, error, error_type, "
            "traceback) SELECT id, attempts, started, ended, error, error_type, traceback "
            "FROM jobs WHERE id = ?",
            (job_id,),
        )

    def attempt_errors(self, ref: ServiceRef, job_id: int) -> list[AttemptError]:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "SELECT e.attempt, e.started, e.ended, e.error, e.error_type, e.traceback "
                "FROM job_errors e JOIN jobs j ON j.id = e.job_id "
                "WHERE e.job_id = ? AND j.service_id = ? ORDER BY e.id",
                (job_id, sid),
            )
            return [
                AttemptError(int(a), s, float(e), err, kind, tb)
                for a, s, e, err, kind, tb in cur.fetchall()
            ]

    # -- triage -----------------------------------------------------------------------

    def error_groups(self, ref: ServiceRef, limit: int) -> list[ErrorGroup]:
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "SELECT j.task, j.error_type, j.error_group, COUNT(*), MIN(j.ended), "
                "MAX(j.ended) FROM jobs j WHERE j.service_id = ? AND j.status = ? "
                "GROUP BY j.task, j.error_type, j.error_group ORDER BY COUNT(*) DESC, "
                "MAX(j.ended) DESC LIMIT ?",
                (sid, str(ERROR), limit),
            )
            groups = cur.fetchall()
            samples: dict[tuple[Any, ...], list[tuple[int, str | None]]] = {}
            for task, kind, pattern, *_ in groups[:SAMPLED_GROUPS]:
                cur.execute(
                    "SELECT j.id, j.error FROM jobs j WHERE j.service_id = ? AND j.status = ? "
                    "AND j.task = ? AND j.error_type IS NOT DISTINCT FROM ? "
                    "AND j.error_group IS NOT DISTINCT FROM ? ORDER BY j.id DESC LIMIT ?",
                    (sid, str(ERROR), task, kind, pattern, SAMPLES),
                )
                samples[(task, kind, pattern)] = [(int(i), e) for i, e in cur.fetchall()]
        found = []
        for task, kind, pattern, count, first, last in groups:
            picked = samples.get((task, kind, pattern), [])
            found.append(
                ErrorGroup(
                    task,
                    kind,
                    pattern or "",
                    int(count),
                    float(first or 0.0),
                    float(last or 0.0),
                    tuple(job_id for job_id, _ in picked),
                    picked[0][1] if picked else None,
                )
            )
        return found

    def retry_error_group(
        self, ref: ServiceRef, task: str, error_type: str | None, pattern: str
    ) -> int:
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "UPDATE jobs SET status = ?, attempts = 0, error = NULL, traceback = NULL, "
                "result = NULL, started = NULL, ended = NULL, next_call = NULL, progress = NULL, "
                "progress_message = NULL, cancel_requested = 0, error_type = NULL, "
                f"error_group = NULL WHERE id IN (SELECT j.id FROM jobs j WHERE "
                f"j.service_id = ? AND j.status = ? AND {_GROUP_KEY})",
                (str(QUEUED), sid, str(ERROR), task, error_type or "", pattern),
            )
            return cur.rowcount

    def delete_error_group(
        self, ref: ServiceRef, task: str, error_type: str | None, pattern: str
    ) -> int:
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            chosen = (
                f"SELECT j.id FROM jobs j WHERE j.service_id = ? AND j.status = ? AND {_GROUP_KEY}"
            )
            params = (sid, str(ERROR), task, error_type or "", pattern)
            cur.execute(f"DELETE FROM cron_runs WHERE job_id IN ({chosen})", params)
            cur.execute(f"DELETE FROM jobs WHERE id IN ({chosen})", params)
            return cur.rowcount

    # -- counts and throughput --------------------------------------------------------

    def capped_counts(
        self, ref: ServiceRef, cap: int, task: str | None = None
    ) -> dict[Status, int]:
        """Jobs per status, each counted up to ``cap`` (a count of ``cap`` means "or more")."""
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            if task is not None:
                cur.execute(
                    "SELECT status, COUNT(*) FROM (SELECT j.status FROM jobs j "
                    "WHERE j.service_id = ? AND j.task = ? ORDER BY j.id DESC LIMIT ?) newest "
                    "GROUP BY status",
                    (sid, task, cap + 1),
                )
                rows = cur.fetchall()
                if sum(int(count) for _, count in rows) > cap:
                    return {}
                return {Status(status): int(count) for status, count in rows}
            part = (
                "SELECT ? AS status, (SELECT COUNT(*) FROM (SELECT 1 FROM jobs "
                "WHERE service_id = ? AND status = ? LIMIT ?) capped) AS n"
            )
            params: list[Any] = []
            for status in Status:
                params.extend([str(status), sid, str(status), cap])
            cur.execute(" UNION ALL ".join([part] * len(Status)), params)
            return {Status(status): int(n) for status, n in cur.fetchall() if int(n)}

    def finished_by_minute(self, ref: ServiceRef, since: float) -> dict[int, tuple[int, int]]:
        """Jobs completed and errored per whole minute from ``since`` on (0 is the first)."""
        minute = self.floor_sql.format("(ended - ?) / 60")
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT {minute} AS minute, status, COUNT(*) FROM jobs WHERE service_id = ? "
                "AND ended IS NOT NULL AND ended >= ? AND status IN (?, ?) "
                "GROUP BY minute, status",
                (since, sid, since, str(COMPLETED), str(ERROR)),
            )
            found: dict[int, tuple[int, int]] = {}
            for at, status, count in cur.fetchall():
                done, failed = found.get(int(at), (0, 0))
                if status == str(COMPLETED):
                    done += int(count)
                else:
                    failed += int(count)
                found[int(at)] = (done, failed)
            return found

    # -- cron runs --------------------------------------------------------------------

    def cron_run_page(
        self, ref: ServiceRef, job_id: int, limit: int, before: float | None
    ) -> list[CronRun]:
        """Runs of a cron job, newest first, scheduled before ``before`` (keyset paging)."""
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT {RUN_COLUMNS} FROM cron_runs WHERE job_id IN "
                "(SELECT id FROM jobs WHERE id = ? AND service_id = ?) "
                "AND scheduled_for < ? ORDER BY scheduled_for DESC LIMIT ?",
                (job_id, sid, 1e300 if before is None else before, limit),
            )
            return [row_to_run(row) for row in cur.fetchall()]

    def recent_runs(self, job_ids: Sequence[int], per_job: int) -> dict[int, list[CronRun]]:
        """The latest ``per_job`` runs of each of these jobs, newest first, in one query."""
        if not job_ids:
            return {}
        with self._tx(write=False) as cur:
            cur.execute(
                f"SELECT {RUN_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY job_id "
                "ORDER BY scheduled_for DESC) AS rn FROM cron_runs "
                f"WHERE job_id IN ({placeholders(len(job_ids))})) ranked WHERE rn <= ? "
                "ORDER BY job_id, scheduled_for DESC",
                (*job_ids, per_job),
            )
            runs: dict[int, list[CronRun]] = {}
            for row in cur.fetchall():
                run = row_to_run(row)
                runs.setdefault(run.job_id, []).append(run)
            return runs
