"""Group commit: concurrent submits share one store transaction, each answered after it.

A request hands its checked job (a ``Submission``) to the one writer thread
and awaits it. The writer takes everything that arrived while the previous
commit ran and stores it with ``TaskService.submit``, one transaction (one
fsync) per service in the group, then wakes each request with its own job.
So a 201 still means "committed", an idle server adds no delay (a lone submit
is committed at once), and a busy one pays one commit per group, not per job.

While the store does not answer (PostgreSQL down), submits fail at once with
503 instead of waiting for the pool's timeout: see ``circuit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from remotetask.errors import StoreError
from remotetask.jobs import Job
from remotetask.service import Submission, TaskService
from remotetask.web.circuit import Circuit

log = logging.getLogger("remotetask.web")

MAX_GROUP = 512
"""Most submissions stored in one transaction."""


@dataclass(slots=True)
class _Waiting:
    service: TaskService
    submission: Submission
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Job]


class GroupCommit:
    """The writer thread and the submissions waiting for it."""

    def __init__(self, circuit: Circuit | None = None) -> None:
        self.circuit = circuit or Circuit(lambda: None)
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        """Submissions in arrival order; None (put by ``close``) ends the writer."""
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def submit(self, service: TaskService, submission: Submission) -> Job:
        """Store one job with whatever else is waiting; the job as committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Job] = loop.create_future()
        refusal = self.circuit.refusal()
        if refusal is not None:
            raise StoreError(f"{refusal} (nothing was stored)")
        with self._lock:  # a put after close's None would never be stored
            if self._closed:
                raise StoreError("the server is stopping; nothing was stored")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="remotetask-group-commit", daemon=True
                )
                self._thread.start()
            self._queue.put(_Waiting(service, submission, loop, future))
        return await future

    def close(self) -> None:
        """Store what is waiting, then stop the writer thread."""
        with self._lock:
            self._closed = True
            self._queue.put(None)
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        closing = False
        while not closing:
            group: list[_Waiting] = []
            waiting = self._queue.get()  # the one blocking wait: an idle writer costs nothing
            while True:
                if waiting is None:
                    closing = True
                else:
                    group.append(waiting)
                if len(group) >= MAX_GROUP or self._queue.empty():
                    break
                waiting = self._queue.get_nowait()
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
            self.circuit.failed(exc, time.monotonic() - started)
            log.warning("submits could not be stored: %s", exc)
            _settle([(entry, None, exc) for entry in entries])
            return
        except Exception as exc:
            if len(entries) == 1:
                _settle([(entries[0], None, exc)])
            else:  # one bad submission must not fail the others
                for entry in entries:
                    self._commit([entry])
            return
        self.circuit.succeeded()
        _settle([(entry, job, None) for entry, job in zip(entries, jobs, strict=True)])


def _settle(results: Sequence[tuple[_Waiting, Job | None, BaseException | None]]) -> None:
    """Hand the results to the waiting requests: one wake-up per event loop, not per job."""
    by_loop: dict[
        asyncio.AbstractEventLoop, list[tuple[_Waiting, Job | None, BaseException | None]]
    ]
    by_loop = {}
    for result in results:
        by_loop.setdefault(result[0].loop, []).append(result)
    for loop, mine in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_deliver, mine)


def _deliver(results: Sequence[tuple[_Waiting, Job | None, BaseException | None]]) -> None:
    for entry, job, exc in results:
        if entry.future.done():  # the request went away
            continue
        if exc is not None:
            entry.future.set_exception(exc)
        else:
            assert job is not None
            entry.future.set_result(job)
