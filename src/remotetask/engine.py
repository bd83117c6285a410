"""The engine: what services and their processing need from an App.

The database and its store, the task registry, the settings, the clock, the
observers, and which services this process is processing. ``App`` extends it
with the service registry and the verbs transports use; services, the runner
and processing depend only on this, so every import points down.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from remotetask.clock import Clock, SystemClock
from remotetask.errors import InvalidReferenceError
from remotetask.events import JobObserver, suppress_observer_errors
from remotetask.jobs import Job, Outcome
from remotetask.refs import ServiceRef
from remotetask.settings import Settings
from remotetask.store import Store, open_store
from remotetask.tasks import TaskRegistry

log = logging.getLogger("remotetask")

DEFAULT_DATABASE = "sqlite:///remotetask.db"


class Engine:
    """A database, tasks, settings and a clock: enough to run a service's jobs."""

    def __init__(
        self,
        database: str = DEFAULT_DATABASE,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._database = database
        self.settings = settings or Settings()
        self.clock: Clock = clock or SystemClock()
        self.tasks = TaskRegistry()
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}"
        self.observers: list[JobObserver] = []
        """Told about submitted and finished jobs (metrics, logs); see remotetask.events."""
        self._store: Store | None = None
        self._wakers: dict[ServiceRef, Callable[[], None]] = {}
        self._subscribed = False
        self._lock = threading.RLock()

    @property
    def database(self) -> str:
        """The database URL; setting another one closes a store already opened on the old one."""
        return self._database

    @database.setter
    def database(self, url: str) -> None:
        with self._lock:
            if url == self._database:
                return
            self._database = url
            if self._store is not None:
                self._store.close()
                self._store = None
                self._subscribed = False

    @property
    def store(self) -> Store:
        """The store, opened on first use so that importing an app module stays cheap."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(
                        self._database, auto_migrate=self.settings.auto_migrate
                    )
        return self._store

    def close_store(self) -> None:
        """Close the store; the next use opens it again."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            self._subscribed = False

    # -- processing in this process ---------------------------------------------------

    def attach(self, ref: ServiceRef, wake: Callable[[], None]) -> None:
        """A service starts processing here: wake it when jobs are added by other processes."""
        with self._lock:
            self._wakers[ref] = wake
            subscribe, self._subscribed = not self._subscribed, True
        if subscribe:
            self.store.subscribe(self._wake)

    def processing_refs(self) -> list[str]:
        """The services this process has processed since the last ``detach_all``."""
        with self._lock:
            return sorted(str(ref) for ref in self._wakers)

    def detach_all(self) -> bool:
        """Forget every processing service; report whether there was any."""
        with self._lock:
            had, self._wakers = bool(self._wakers), {}
        return had

    def _wake(self, ref_text: str) -> None:
        """A wake-up notification: jobs were added to that service somewhere."""
        try:
            ref = ServiceRef.parse(ref_text)
        except InvalidReferenceError:
            return
        with self._lock:
            wake = self._wakers.get(ref)
        if wake is not None:
            wake()

    # -- observers --------------------------------------------------------------------

    def notify_submitted(self, ref: ServiceRef, tasks: list[str]) -> None:
        """Tell the observers that jobs of these tasks were stored (never raises)."""
        for observer in list(self.observers):
            with suppress_observer_errors(observer):
                observer.job_submitted(ref, tasks)

    def notify_finished(self, ref: ServiceRef, job: Job, outcome: Outcome, finished: float) -> None:
        """Tell the observers how a run ended (never raises)."""
        for observer in list(self.observers):
            with suppress_observer_errors(observer):
                observer.job_finished(ref, job, outcome, finished)
