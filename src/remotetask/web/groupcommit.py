"""Group commit: concurrent submits share one store transaction, each answered after it.

A request hands its checked job (a ``Submission``) to the one writer thread
and awaits it. The writer takes everything that arrived while the previous
commit ran and stores it with ``TaskService.submit``, one transaction (one
fsync) per service in the group, then wakes each request with its own job.
So a 201 still means "committed", an idle server adds no delay (a lone submit
is committed at once), and a busy one pays one commit per group, not per job.

When the store fails slowly (PostgreSQL down: each attempt waits for the
connection pool's timeout), waiting on it would hold every request that long.
After a group failed slowly, submits get its error at once (503) while one
later group probes the store; the first group that commits closes the circuit
again, without a restart. Fast failures (a killed connection) open nothing:
the next group simply tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from remotetask.errors import StoreError
from remotetask.jobs import Job
from remotetask.service import Submission, TaskService

log = logging.getLogger("remotetask.web")

MAX_GROUP = 512
"""Most submissions stored in one transaction."""
PROBE_SECONDS = 1.0
"""While the store is failing, how long submits are refused at once between probes."""
SLOW_FAILURE_SECONDS = 1.0
"""A failed commit that took this long means the store is not answering: open the circuit."""


@dataclass(slots=True)
class _Waiting:
    service: TaskService
    submission: Submission
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Job]


class GroupCommit:
    """The writer thread and the submissions waiting for it."""

    def __init__(self) -> None:
        self._pending: list[_Waiting] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._failure: StoreError | None = None
        """The error that opened the circuit; None while it is closed."""
        self._refuse_until = 0.0

    async def submit(self, service: TaskService, submission: Submission) -> Job:
        """Store one job with whatever else is waiting; the job as committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Job] = loop.create_future()
        with self._lock:
            if self._closed:
                raise StoreError("the server is stopping; nothing was stored")
            if self._failure is not None and time.monotonic() < self._refuse_until:
                raise StoreError(f"{self._failure} (nothing was stored)")
            self._pending.append(_Waiting(service, submission, loop, future))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="remotetask-group-commit", daemon=True
                )
                self._thread.start()
            self._arrived.notify()
        return await future

    def close(self) -> None:
        """Store what is waiting, then stop the writer thread."""
        with self._lock:
            self._closed = True
            self._arrived.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._arrived.wait()
                if not self._pending:
                    return
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                if self._failure is not None:
                    self._refuse_until = float("inf")  # this group probes; others fail fast
            by_service: dict[TaskService, list[_Waiting]] = {}
            for waiting in group:
                by_service.setdefault(waiting.service, []).append(waiting)
            for entries in by_service.values():
                self._commit(entries)

    def _commit(self, entries: Sequence[_Waiting]) -> None:
        started = time.monotonic()
        try:
            jobs = entries[0].service.submit([e.submission for e in entries])
        except StoreError as exc:
            self._failed(exc, time.monotonic() - started)
            for entry in entries:
                _settle(entry, None, exc)
            return
        except Exception as exc:
            if len(entries) == 1:
                _settle(entries[0], None, exc)
            else:  # one bad submission must not fail the others
                for entry in entries:
                    self._commit([entry])
            return
        with self._lock:
            self._failure = None
        for entry, job in zip(entries, jobs, strict=True):
            _settle(entry, job, None)

    def _failed(self, exc: StoreError, seconds: float) -> None:
        with self._lock:
            if seconds >= SLOW_FAILURE_SECONDS or self._failure is not None:
                self._failure = exc
                self._refuse_until = time.monotonic() + PROBE_SECONDS
        log.warning("submits could not be stored: %s", exc)


def _settle(entry: _Waiting, job: Job | None, exc: BaseException | None) -> None:
    """Hand a result to the waiting request on its event loop (if it still waits)."""

    def deliver() -> None:
        if entry.future.done():
            return
        if exc is not None:
            entry.future.set_exception(exc)
        else:
            assert job is not None
            entry.future.set_result(job)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
        entry.loop.call_soon_threadsafe(deliver)
