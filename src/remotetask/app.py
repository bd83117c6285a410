"""App: the task registry, the store and the services, passed around explicitly.

``App`` is the ``Engine`` (database, tasks, settings, clock, observers) plus the
service registry, the task decorators, autostart, and the verbs transports need
(tokens, workers, gauges, readiness), so no transport ever touches the store.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from remotetask.autostart import autostart
from remotetask.clock import Clock
from remotetask.engine import DEFAULT_DATABASE, Engine
from remotetask.errors import UnknownServiceError
from remotetask.jobs import CronRun, Job, Status
from remotetask.maintenance import forget_worker
from remotetask.refs import ServiceRef
from remotetask.retry import RetryPolicy
from remotetask.service import TaskService
from remotetask.settings import Settings
from remotetask.tasks import Task
from remotetask.tokens import Tokens
from remotetask.workers import WorkerInfo

if TYPE_CHECKING:
    from remotetask.logins import Logins

F = TypeVar("F", bound=Callable[..., Any])


class App(Engine):
    """A remotetask application: ``App("sqlite:///jobs.db")`` or ``App("postgresql://…")``."""

    def __init__(
        self,
        database: str = DEFAULT_DATABASE,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(database, settings=settings, clock=clock)
        self.tokens = Tokens(lambda: self.store, self.clock)
        """The API tokens in this app's database: issue, verify, list, revoke."""
        self._services: dict[ServiceRef, TaskService] = {}
        self._services_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<App {self.database}>"

    @functools.cached_property
    def logins(self) -> Logins:
        """The management UI's sessions and login rate limit, in this app's database.

        Made on first use: its hashing loads OpenSSL (about 5 MiB), which a worker
        never needs.
        """
        from remotetask.logins import Logins

        return Logins(lambda: self.store, self.clock)

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
        with self._services_lock:
            known = self._services.get(parsed)
        if known is not None:
            return known
        if parsed not in self.store.services():
            raise UnknownServiceError(f"no service {parsed} (create it with add_service)")
        return self._service_object(parsed)

    def known_service(self, ref: ServiceRef) -> TaskService | None:
        """The service if this App already used it, without touching the store (async code)."""
        with self._services_lock:
            return self._services.get(ref)

    def services(self) -> list[TaskService]:
        """Every service in the database, ordered by site then name."""
        return [self._service_object(ref) for ref in self.store.services()]

    def _service_object(self, ref: ServiceRef) -> TaskService:
        with self._services_lock:
            service = self._services.get(ref)
            if service is None:
                service = self._services[ref] = TaskService(self, ref)
            return service

    def autostart(self, directives: str | Iterable[str]) -> list[TaskService]:
        """Start the services the directives select, logging as the original did."""
        chosen = directives if isinstance(directives, str) else list(directives)
        return autostart(self.services(), chosen)

    def stop(self, grace: float | None = None) -> None:
        """Stop processing on every service of this app and wait for the threads to end."""
        with self._services_lock:
            services = list(self._services.values())
        for service in services:
            service.stop_processing(grace)
        for service in services:
            service.stop_processing(grace, wait=True)
        if self.detach_all():
            forget_worker(self)

    def close(self) -> None:
        """Stop processing and close the store."""
        self.stop()
        self.close_store()

    # -- what transports read besides jobs --------------------------------------------

    def workers(self) -> list[WorkerInfo]:
        """Every worker process recorded in the database, with its latest heartbeat."""
        return self.store.workers()

    def find_job(self, job_id: int) -> Job | None:
        """The job with this id, in whichever service holds it (ids are global)."""
        return self.store.find_job(job_id)

    def schedule_board(
        self,
        refs: Sequence[ServiceRef],
        search: str | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[Job]:
        """Waiting cron and delayed jobs of these services, soonest first (keyset pages)."""
        return self.store.schedule_board(refs, search, after, limit)

    def recent_runs(self, job_ids: Sequence[int], per_job: int) -> dict[int, list[CronRun]]:
        """The latest runs of each of these cron jobs, newest first."""
        return self.store.recent_runs(job_ids, per_job)

    def status_counts(self) -> dict[tuple[ServiceRef, Status], int]:
        """Jobs per (service, status) across every service (the queue-depth gauge)."""
        return self.store.status_counts()

    def database_health(self) -> dict[str, float]:
        """Gauges about the database itself (``Store.health``), for the metrics endpoint."""
        return self.store.health()

    def schema_versions(self) -> tuple[int, int]:
        """The database's schema version and the one this remotetask needs.

        Raises StoreError when the database cannot be reached (readiness probes).
        """
        store = self.store
        return store.schema_version(), store.latest_schema_version()

    def check_writable(self) -> None:
        """Commit a write that changes nothing; StoreError if writes fail (full disk, no server)."""
        self.store.probe_write()
