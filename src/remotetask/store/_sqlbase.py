"""What every SQL verb module shares: the cursor it is given, row mappers, the base class.

The verbs are split by what they touch (``sql_jobs``, ``sql_cron``,
``sql_tokens``); each is a mixin of ``SqlVerbs``, which declares once the two
things they all need from ``SqlStore``: a transaction and the service id.
Everything here is portable SQL: JSON is kept as text, booleans as integers,
times as epoch seconds, ``?`` as the placeholder.
"""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from remotetask import jsonvalue
from remotetask.jobs import CronRun, Job, Status
from remotetask.refs import ServiceRef
from remotetask.schedule import Schedule
from remotetask.store.base import Claim

NEVER = 253402300799.0
"""Next call time of a schedule with nothing due within its horizon (9999-12-31)."""

JOB_COLUMNS = (
    "j.id, s.site, s.name, j.task, j.input, j.status, j.result, j.error, j.traceback, "
    "j.attempts, j.progress, j.progress_message, j.created, j.started, j.ended, "
    "j.schedule, j.next_call, j.cancel_requested, j.claim, j.error_type, j.paused"
)
JOB_FROM = "jobs j JOIN services s ON s.id = j.service_id"
RUN_COLUMNS = (
    "id, job_id, scheduled_for, started, ended, result, error, error_type, attempts, retry_at"
)


class Cursor(Protocol):
    """The part of a DB-API cursor the shared SQL needs."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class SqlVerbs(ABC):
    """The base of the verb mixins: what they need from ``SqlStore``, declared once."""

    @abstractmethod
    def _tx(self, write: bool, single: bool = False) -> AbstractContextManager[Cursor]:
        """A transaction: ``write`` ones take the write lock before reading.

        ``single`` promises that the body writes with one statement (after cached or
        harmless reads), which is atomic on its own: a server backend may then skip
        the BEGIN/COMMIT round trips. Used on the hot path (claim, finish).
        """

    @abstractmethod
    def _service_id(self, cur: Cursor, ref: ServiceRef) -> int:
        """The row id of a service (cached); UnknownServiceError if there is none."""

    def _select_jobs(self, ref: ServiceRef, condition: str, params: Sequence[Any]) -> list[Any]:
        """Rows (JOB_COLUMNS) of the service's jobs that meet ``condition``, in one read.

        ``condition`` follows ``WHERE j.service_id = ? AND`` and may end in ORDER BY/LIMIT.
        """
        with self._tx(write=False) as cur:
            sid = self._service_id(cur, ref)
            cur.execute(
                f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.service_id = ? AND {condition}",
                (sid, *params),
            )
            return cur.fetchall()


def row_to_job(row: Sequence[Any]) -> Job:
    """Build a Job from a row selected with JOB_COLUMNS.

    It runs for every job claimed, so the status and the service's name are looked
    up rather than built.
    """
    schedule = Schedule.from_json(jsonvalue.loads(row[15])) if row[15] else None
    next_call = None if row[16] is None or row[16] >= NEVER else float(row[16])
    return Job(
        id=int(row[0]),
        service=_service_name(row[1], row[2]),
        task=row[3],
        input=jsonvalue.loads(row[4]),
        status=_STATUSES[row[5]],
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
        error_type=row[19],
        paused=bool(row[20]),
    )


_STATUSES = {str(status): status for status in Status}


@functools.lru_cache(maxsize=256)
def _service_name(site: str, name: str) -> str:
    return str(ServiceRef(site, name))


def row_to_claim(row: Sequence[Any]) -> Claim:
    """A Claim from a row selected with JOB_COLUMNS (the claim key is the last column)."""
    return Claim(row_to_job(row), row[18])


def row_to_run(row: Sequence[Any]) -> CronRun:
    """A CronRun from a row selected with RUN_COLUMNS."""
    return CronRun(
        id=int(row[0]),
        job_id=int(row[1]),
        scheduled_for=float(row[2]),
        started=float(row[3]),
        ended=row[4],
        result=jsonvalue.loads(row[5]),
        error=row[6],
        error_type=row[7],
        attempts=int(row[8]),
        retry_at=row[9],
    )


def new_claim_key() -> str:
    """A claim key: unguessable and unique, so a superseded run can never match."""
    return os.urandom(12).hex()


def placeholders(count: int) -> str:
    """``?, ?, …`` for an ``IN (…)`` of ``count`` values."""
    return ", ".join("?" * count)


def status_values(statuses: Iterable[Status]) -> list[str]:
    """Statuses as the stored strings, sorted so the same set always binds the same way."""
    return sorted(str(s) for s in statuses)
