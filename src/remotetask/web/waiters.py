"""Long-poll waiters, woken when their job ends instead of polling the store.

``GET …/jobs/{id}?wait=S`` parks the request on an asyncio event. This module
is also a job observer: when a run ends in this process, the waiters of that
job are woken at once, so a waiting client costs nothing until then. A job
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
from contextlib import asynccontextmanager

from starlette.concurrency import run_in_threadpool

from remotetask.app import App
from remotetask.errors import StoreError
from remotetask.jobs import Job, Outcome
from remotetask.refs import ServiceRef
from remotetask.service import TaskService
from remotetask.web.errors import Problem

SAFETY_SECONDS = 5.0
REMOTE_SECONDS = 1.0
WORKERS_SECONDS = 5.0
"""How long the list of live worker processes is reused."""
MAX_PER_CALLER = 100

_Key = tuple[str, int]


class TooManyWaiting(Problem):
    """429: the caller already holds ``per_caller`` waiting requests."""


class Waiters:
    """Events of waiting requests by job; a ``JobObserver`` of the App."""

    def __init__(self, app: App, per_caller: int = MAX_PER_CALLER) -> None:
        self.app = app
        self.per_caller = per_caller
        self._events: dict[_Key, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._callers: dict[str, int] = {}
        self._lock = threading.Lock()
        self._elsewhere: frozenset[str] = frozenset()
        self._elsewhere_read = float("-inf")

    # -- the observer ---------------------------------------------------------------

    def job_submitted(self, ref: ServiceRef, tasks: list[str]) -> None:
        """Not needed: waiters wait for ends."""

    def job_finished(self, ref: ServiceRef, job: Job, outcome: Outcome, finished: float) -> None:
        self.wake(ref, job.id)

    def wake(self, ref: ServiceRef, job_id: int) -> None:
        """Wake the requests waiting for this job (from any thread)."""
        with self._lock:
            events = list(self._events.get((str(ref), job_id), ()))
        for loop, event in events:
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(event.set)

    # -- waiting ----------------------------------------------------------------------

    @property
    def count(self) -> int:
        with self._lock:
            return sum(self._callers.values())

    @asynccontextmanager
    async def waiting(
        self, caller: str, ref: ServiceRef, job_id: int
    ) -> AsyncIterator[asyncio.Event]:
        """Register a waiter for the job (429 if the caller holds too many)."""
        key = (str(ref), job_id)
        entry = (asyncio.get_running_loop(), asyncio.Event())
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
            yield entry[1]
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
