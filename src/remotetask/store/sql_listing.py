"""Reading jobs the way an operator asks: sorted pages, search, a job by id, the schedules.

Every sort ends on the id, so a page starts past (value, id) of the previous one and
each page is one index range, however many jobs a service holds. Jobs that never
started (or ended) have no value to sort by: they form a second run of the same
list, ordered by id, after the others (before them when paging backwards).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remotetask.jobs import CRONJOB, DELAYED, Job, JobQuery
from remotetask.refs import ServiceRef
from remotetask.store._sqlbase import (
    JOB_COLUMNS,
    JOB_FROM,
    NEVER,
    SqlVerbs,
    placeholders,
    row_to_job,
    status_values,
)

_COLUMNS = {
    "id": "j.id",
    "created": "j.id",
    "task": "j.task",
    "status": "j.status",
    "started": "j.started",
    "ended": "j.ended",
}
_NULLABLE = frozenset({"started", "ended"})
_SUMMARISED = ("j.input", "j.result", "j.error", "j.traceback")
"""Columns ``list_job_summaries`` leaves out when they are long."""


def like_pattern(text: str) -> str:
    """A ``LIKE … ESCAPE '\\'`` pattern matching ``text`` anywhere, any case."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ListingVerbs(SqlVerbs):
    """Sorted and searched job lists, a job by id in any service, the schedule board."""

    def list_jobs(self, ref: ServiceRef, query: JobQuery) -> list[Job]:
        return [row_to_job(row) for row in self._rows(ref, query, JOB_COLUMNS)]

    def list_job_summaries(
        self, ref: ServiceRef, query: JobQuery, max_chars: int
    ) -> list[tuple[Job, tuple[str, ...]]]:
        limit = int(max_chars)
        columns = ", ".join(
            f"CASE WHEN length({c}) <= {limit} THEN {c} END" if c in _SUMMARISED else c
            for c in JOB_COLUMNS.split(", ")
        )
        lengths = ", ".join(f"length({c})" for c in _SUMMARISED)
        width = len(JOB_COLUMNS.split(", "))
        return [
            (
                row_to_job(row),
                tuple(
                    c.removeprefix("j.")
                    for c, n in zip(_SUMMARISED, row[width:], strict=True)
                    if n is not None and n > limit
                ),
            )
            for row in self._rows(ref, query, f"{columns}, {lengths}")
        ]

    def _rows(self, ref: ServiceRef, query: JobQuery, columns: str) -> list[Any]:
        """Rows of ``columns`` for the page of jobs ``query`` asks for, in its order."""
        column = _COLUMNS.get(query.sort)
        if column is None:
            raise ValueError(f"cannot sort jobs by {query.sort!r}")
        nullable = query.sort in _NULLABLE
        phases = [False, True] if nullable else [False]
        if nullable and query.nulls_first:
            phases.reverse()
        in_null_phase = nullable and query.after_id is not None and query.after_value is None
        start = phases.index(in_null_phase) if query.after_id is not None else 0
        rows: list[Any] = []
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            for position, nulls in enumerate(phases[start:]):
                cursor = query.after_id is not None and position == 0
                where, params = self._filters(query)
                if nullable:
                    where.append(f"{column} IS {'' if nulls else 'NOT '}NULL")
                key = "j.id" if nulls or column == "j.id" else column
                order = "DESC" if query.newest_first else "ASC"
                if cursor:
                    if key == "j.id":
                        where.append("j.id < ?" if query.newest_first else "j.id > ?")
                        params.append(query.after_id)
                    else:
                        compare = "<" if query.newest_first else ">"
                        where.append(f"({key}, j.id) {compare} (?, ?)")
                        params.extend([query.after_value, query.after_id])
                ordering = "j.id" if key == "j.id" else f"{key} {order}, j.id"
                cur.execute(
                    f"SELECT {columns} FROM {JOB_FROM} WHERE j.service_id = ? "
                    f"AND {' AND '.join(where)} ORDER BY {ordering} {order} LIMIT ?",
                    (sid, *params, query.limit - len(rows)),
                )
                rows.extend(cur.fetchall())
                if len(rows) >= query.limit:
                    break
        return rows

    @staticmethod
    def _filters(query: JobQuery) -> tuple[list[str], list[Any]]:
        where = ["1 = 1"]
        params: list[Any] = []
        if query.statuses:
            where.append(f"j.status IN ({placeholders(len(query.statuses))})")
            params.extend(status_values(query.statuses))
        if query.task is not None:
            where.append("j.task = ?")
            params.append(query.task)
        if query.search:
            pattern = like_pattern(query.search)
            where.append(
                "(LOWER(j.input) LIKE ? ESCAPE '\\' "
                "OR LOWER(COALESCE(j.error, '')) LIKE ? ESCAPE '\\' "
                "OR LOWER(COALESCE(j.error_type, '')) LIKE ? ESCAPE '\\')"
            )
            params.extend([pattern, pattern, pattern])
        if query.scan_until is not None:
            where.append("j.id > ?" if query.newest_first else "j.id < ?")
            params.append(query.scan_until)
        return where, params

    def find_job(self, job_id: int) -> Job | None:
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.id = ?", (job_id,))
            row = cur.fetchone()
        return None if row is None else row_to_job(row)

    def schedule_board(
        self,
        refs: Sequence[ServiceRef],
        search: str | None,
        after: int | None,
        limit: int,
    ) -> list[Job]:
        if not refs:
            return []
        next_key = "COALESCE(j.next_call, 0)"
        where = [f"j.status IN (?, ?) AND (s.site, s.name) IN ({self._pairs(len(refs))})"]
        params: list[Any] = [str(CRONJOB), str(DELAYED)]
        for ref in refs:
            params.extend([ref.site, ref.name])
        if search:
            pattern = like_pattern(search)
            where.append("(LOWER(j.task) LIKE ? ESCAPE '\\' OR LOWER(j.input) LIKE ? ESCAPE '\\')")
            params.extend([pattern, pattern])
        if after is not None:
            where.append(
                f"({next_key}, j.id) > "
                "(COALESCE((SELECT COALESCE(next_call, 0) FROM jobs WHERE id = ?), 0), ?)"
            )
            params.extend([after, after])
        with self._tx(write=False) as cur:
            cur.execute(
                f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE {' AND '.join(where)} "
                f"ORDER BY {next_key}, j.id LIMIT ?",
                (*params, limit),
            )
            return [row_to_job(row) for row in cur.fetchall()]

    @staticmethod
    def _pairs(count: int) -> str:
        return ", ".join(["(?, ?)"] * count)

    def set_paused(self, ref: ServiceRef, job_id: int, paused: bool) -> bool:
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "UPDATE jobs SET paused = ?, next_call = ? "
                "WHERE id = ? AND service_id = ? AND status = ? AND paused = ?",
                (
                    int(paused),
                    NEVER if paused else None,
                    job_id,
                    sid,
                    str(CRONJOB),
                    int(not paused),
                ),
            )
            return cur.rowcount == 1

    def run_delayed_now(self, ref: ServiceRef, job_id: int, now: float) -> bool:
        with self._tx(write=True) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                "UPDATE jobs SET next_call = ? WHERE id = ? AND service_id = ? AND status = ?",
                (now, job_id, sid, str(DELAYED)),
            )
            return cur.rowcount == 1
