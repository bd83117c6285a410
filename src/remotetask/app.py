"""App: the task registry, the store and the services, passed around explicitly."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

from remotetask.clock import Clock, SystemClock
from remotetask.errors import InvalidReferenceError, StoreError, UnknownServiceError
from remotetask.events import JobObserver, suppress_observer_errors
from remotetask.jobs import CANCELLED, COMPLETED, ERROR, Status
from remotetask.processing import ProcessorKind, SimpleProcessor
from remotetask.refs import ServiceRef
from remotetask.retry import RetryPolicy
from remotetask.service import TaskService
from remotetask.store import Store, open_store
from remotetask.tasks import Task, TaskRegistry

log = logging.getLogger("remotetask")

if TYPE_CHECKING:
    from remotetask.jobs import Job
    from remotetask.store.base import Outcome

F = TypeVar("F", bound=Callable[..., Any])

DAY = 86400.0
DEFAULT_RETENTION: Mapping[Status, float | None] = {
    COMPLETED: 7 * DAY,
    CANCELLED: 7 * DAY,
    ERROR: 30 * DAY,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """How services process jobs; one object instead of many keyword arguments."""

    processor: ProcessorKind = field(default_factory=SimpleProcessor)
    wait_time: float = 1.0
    """Longest idle sleep between polls (an ``add`` in this process wakes it at once)."""
    lease_seconds: float = 30.0
    """A running job's lease; a worker that stops renewing it loses the job after this."""
    shutdown_grace: float = 30.0
    """How long a stopping service lets running jobs finish before giving them back."""
    auto_migrate: bool | None = None
    """Upgrade the schema on open: default True for SQLite, False for PostgreSQL."""
    retention: Mapping[Status, float | None] = field(
        default_factory=lambda: dict(DEFAULT_RETENTION)
    )
    """Seconds finished jobs are kept, per status (None keeps them); pruned once a minute."""
    prune_batch: int = 1000
    """Jobs deleted per transaction when pruning."""


class App:
    """A remotetask application: ``App("sqlite:///jobs.db")`` or ``App("postgresql://…")``."""

    def __init__(
        self,
        database: str = "sqlite:///remotetask.db",
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.database = database
        self.settings = settings or Settings()
        self.clock: Clock = clock or SystemClock()
        self.tasks = TaskRegistry()
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}"
        self._store: Store | None = None
        self._services: dict[ServiceRef, TaskService] = {}
        self._processing: set[ServiceRef] = set()
        self._subscribed = False
        self._lock = threading.RLock()
        self.observers: list[JobObserver] = []
        """Told about submitted and finished jobs (metrics, logs); see remotetask.events."""

    def __repr__(self) -> str:
        return f"<App {self.database}>"

    @property
    def store(self) -> Store:
        """The store, opened on first use so that importing an app module stays cheap."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.database, auto_migrate=self.settings.auto_migrate)
        return self._store

    # -- tasks ------------------------------------------------------------------------

    @overload
    def task(self, func: F) -> F: ...
    @overload
    def task(
        self,
        *,
        name: str | None = None,
        context: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> Callable[[F], F]: ...

    def task(
        self,
        func: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        context: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Register a function as a task, under its own name unless ``name`` is given."""

        def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
            self.register(name or f.__name__, f, context=context, retry=retry, timeout=timeout)
            return f

        return decorate(func) if func is not None else decorate

    def register(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        context: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> Task:
        """Register a plain callable as a task; a taken name raises DuplicateTaskError."""
        task = Task(name, func, context, retry or RetryPolicy(), timeout)
        self.tasks.add(task)
        return task

    # -- services ---------------------------------------------------------------------

    def add_service(self, ref: str | ServiceRef) -> TaskService:
        """Create the service ``site@Service`` (idempotent) and return it."""
        parsed = ref if isinstance(ref, ServiceRef) else ServiceRef.parse(ref)
        self.store.ensure_service(parsed)
        return self._service_object(parsed)

    def service(self, ref: str | ServiceRef) -> TaskService:
        """The existing service ``site@Service``; UnknownServiceError if there is none."""
        parsed = ref if isinstance(ref, ServiceRef) else ServiceRef.parse(ref)
        with self._lock:
            known = self._services.get(parsed)
        if known is not None:
            return known
        if parsed not in self.store.services():
            raise UnknownServiceError(f"no service {parsed} (create it with add_service)")
        return self._service_object(parsed)

    def services(self) -> list[TaskService]:
        """Every service in the database, ordered by site then name."""
        return [self._service_object(ref) for ref in self.store.services()]

    def _service_object(self, ref: ServiceRef) -> TaskService:
        with self._lock:
            service = self._services.get(ref)
            if service is None:
                service = self._services[ref] = TaskService(self, ref)
            return service

    def autostart(self, directives: str | Iterable[str]) -> list[TaskService]:
        """Start the services the directives select, logging as the original did."""
        from remotetask.autostart import autostart

        return autostart(self, directives if isinstance(directives, str) else list(directives))

    def stop(self, grace: float | None = None) -> None:
        """Stop processing on every service of this app and wait for the threads to end."""
        with self._lock:
            services = list(self._services.values())
        for service in services:
            service.stop_processing(grace)
        for service in services:
            service.stop_processing(grace, wait=True)
        with self._lock:
            registered, self._processing = bool(self._processing), set()
        if registered and self._store is not None:
            try:
                self._store.remove_worker(self.worker_name)
            except StoreError as exc:
                log.warning("could not remove worker %s: %s", self.worker_name, exc)

    # -- processing processes ---------------------------------------------------------

    def processing_started(self, service: TaskService) -> None:
        """Called as a service starts processing: record the worker and listen for wake-ups."""
        from remotetask.maintenance import register_worker

        with self._lock:
            self._processing.add(service.ref)
            subscribe, self._subscribed = not self._subscribed, True
        if subscribe:
            self.store.subscribe(self._wake)
        try:
            register_worker(self, self.processing_refs(), self.clock.now())
        except StoreError as exc:
            log.warning("could not record worker %s yet: %s", self.worker_name, exc)

    def processing_refs(self) -> list[str]:
        """The services this process is processing, as reference strings."""
        with self._lock:
            return sorted(str(ref) for ref in self._processing)

    def _wake(self, ref_text: str) -> None:
        """A wake-up notification: jobs were added to that service somewhere."""
        try:
            ref = ServiceRef.parse(ref_text)
        except InvalidReferenceError:
            return
        with self._lock:
            service = self._services.get(ref)
        if service is not None:
            service.wakeup.set()

    def close(self) -> None:
        """Stop processing and close the store."""
        self.stop()
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            self._subscribed = False

    # -- observers --------------------------------------------------------------------

    def notify_submitted(self, service: TaskService, tasks: list[str]) -> None:
        """Tell the observers that jobs of these tasks were stored (never raises)."""
        for observer in list(self.observers):
            with suppress_observer_errors(observer):
                observer.job_submitted(service, tasks)

    def notify_finished(
        self, service: TaskService, job: Job, outcome: Outcome, finished: float
    ) -> None:
        """Tell the observers how a run ended (never raises)."""
        for observer in list(self.observers):
            with suppress_observer_errors(observer):
                observer.job_finished(service, job, outcome, finished)
