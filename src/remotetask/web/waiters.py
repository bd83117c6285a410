"""Long-poll waiters, woken when their job ends instead of polling the store.

``GET …/jobs/{id}?wait=S`` parks the request on an asyncio event. This module
is also a job observer: when a run ends in this process, the waiters of that
job are woken at once, with the job as stored (read once for all of them, in a
reader thread), so a waiting client costs nothing until then and answers
without a read of its own; where reads never wait (a SQLite file) each woken
request reads it on its loop instead, which costs less than the thread. A job
can also end where no observer hears it: in a ``worker`` process elsewhere, or
by a cancel from the UI. So a waiter also re-reads its job now and then: every
``SAFETY_SECONDS`` when this process processes the service and no live worker
elsewhere does, else every ``REMOTE_SECONDS`` (a slow poll; the store's
notifications only announce new jobs, not ended ones).

Each caller (token, or client address without auth) may hold at most
``per_caller`` waiting requests; one more gets 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from remotetask.app import App
from remotetask.errors import StoreError
from remotetask.jobs import FINISHED, Job, Outcome
from remotetask.refs import ServiceRef
from remotetask.service import TaskService
from remotetask.web.errors import Problem

SAFETY_SECONDS = 5.0
REMOTE_SECONDS = 1.0
WORKERS_SECONDS = 5.0
"""How long the list of live worker processes is reused."""
MAX_PER_CALLER = 100

_Key = tuple[str, int]
READERS = 2
"""Threads that read an ended job for its waiters (the commit thread only hands it over)."""


@dataclass(eq=False, slots=True)
class Waiter:
    """One waiting request: its loop, the event its job's end sets, and the ended job."""

    loop: asyncio.AbstractEventLoop
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    job: Job | None = None
    """The job as stored after its end, read once for all its waiters (None: read it)."""


class TooManyWaiting(Problem):
    """429: the caller already holds ``per_caller`` waiting requests."""


class Waiters:
    """Events of waiting requests by job; a ``JobObserver`` of the App."""

    def __init__(self, app: App, per_caller: int = MAX_PER_CALLER) -> None:
        self.app = app
        self.per_caller = per_caller
        self._events: dict[_Key, set[Waiter]] = {}
        self._callers: dict[str, int] = {}
        self._lock = threading.Lock()
        self._elsewhere: frozenset[str] = frozenset()
        self._elsewhere_read = float("-inf")
        self._readers: ThreadPoolExecutor | None = None

    # -- the observer ---------------------------------------------------------------

    def job_submitted(self, ref: ServiceRef, tasks: list[str]) -> None:
        """Not needed: waiters wait for ends."""

    def job_finished(self, ref: ServiceRef, job: Job, outcome: Outcome, finished: float) -> None:
        """An ended run: its waiters get the job as stored, read once in a reader thread
        (or each on its loop where reads never wait).

        So the commit thread that reports the end does no read, and a woken request
        answers at once instead of handing a read to a thread of its own.
        """
        if outcome.status not in FINISHED:  # it runs again: they wait on
            return
        key = (str(ref), job.id)
        with self._lock:
            waiting = list(self._events.get(key, ()))
        if not waiting:
            return
        service = self.app.known_service(ref)
        if service is not None and service.reads_never_wait:  # each reads it on its loop
            _wake_each(waiting)
            return
        with self._lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(READERS, "remotetask-waiters")
            readers = self._readers
        readers.submit(self._hand_over, service, job.id, waiting)

    def _hand_over(self, service: TaskService | None, job_id: int, waiting: list[Waiter]) -> None:
        try:
            job = None if service is None else service.job(job_id)
        except Exception:  # the waiters read it themselves
            job = None
        for waiter in waiting:
            waiter.job = job
        _wake_each(waiting)

    def wake(self, ref: ServiceRef, job_id: int) -> None:
        """Wake the requests waiting for this job (from any thread); they read it again."""
        with self._lock:
            waiting = list(self._events.get((str(ref), job_id), ()))
        _wake_each(waiting)

    def close(self) -> None:
        """Stop the reader threads (after the last run has ended)."""
        with self._lock:
            readers, self._readers = self._readers, None
        if readers is not None:
            readers.shutdown(wait=True)

    # -- waiting ----------------------------------------------------------------------

    @property
    def count(self) -> int:
        with self._lock:
            return sum(self._callers.values())

    @asynccontextmanager
    async def waiting(self, caller: str, ref: ServiceRef, job_id: int) -> AsyncIterator[Waiter]:
        """Register a waiter for the job (429 if the caller holds too many)."""
        key = (str(ref), job_id)
        entry = Waiter(asyncio.get_running_loop())
        with self._lock:
            held = self._callers.get(caller, 0)
            if held >= self.per_caller:
                raise TooManyWaiting(
                    429,
                    f"this token already has {held} requests waiting for jobs; wait for one to end",
                    headers={"Retry-After": "1"},
                )
            self._callers[caller] = held + 1
            self._events.setdefault(key, set()).add(entry)
        try:
            yield entry
        finally:
            with self._lock:
                self._callers[caller] -= 1
                if not self._callers[caller]:
                    del self._callers[caller]
                events = self._events[key]
                events.discard(entry)
                if not events:
                    del self._events[key]

    async def poll_seconds(self, service: TaskService) -> float:
        """How long a waiter may sleep before it reads its job again."""
        if service.is_processing() and str(service.ref) not in await self._served_elsewhere():
            return SAFETY_SECONDS
        return REMOTE_SECONDS

    async def _served_elsewhere(self) -> frozenset[str]:
        """Services that live worker processes other than this one process (reused a while)."""
        now = time.monotonic()
        if now - self._elsewhere_read > WORKERS_SECONDS:
            self._elsewhere_read = now
            try:
                workers = await run_in_threadpool(self.app.workers)
            except StoreError:
                return self._elsewhere
            fresh = self.app.clock.now() - 3 * self.app.settings.lease_seconds
            self._elsewhere = frozenset(
                ref
                for worker in workers
                if worker.name != self.app.worker_name and worker.last_heartbeat > fresh
                for ref in worker.services
            )
        return self._elsewhere


def _wake_each(waiting: list[Waiter]) -> None:
    """Set each waiter's event on its own loop (from any thread)."""
    for waiter in waiting:
        with contextlib.suppress(RuntimeError):  # that loop is closed
            waiter.loop.call_soon_threadsafe(waiter.ended.set)
