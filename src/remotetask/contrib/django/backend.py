"""``RemoteTaskBackend``: Django's tasks framework, queued and run by remotetask.

Each queue name is a service ``<SITE>@<queue>`` (``django@default`` unless
``SITE`` says otherwise), each task a remotetask task named by its module path
(``myapp.tasks.send_receipt``), each enqueued call a job whose input is
``{"args": [...], "kwargs": {...}}`` and whose id is the result id. ``run_after``
makes a delayed job. remotetask runs the jobs of a service in the order added,
so the backend takes no priorities and says so (``supports_priority = False``).

Django makes a backend per thread; they share one remotetask ``App`` per
database (``shared_app``), so tasks registered in one are known to all.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

from remotetask.app import App
from remotetask.contrib.django.calls import task_function
from remotetask.contrib.django.framework import (
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskResult,
    TaskResultDoesNotExist,
    task_enqueued,
)
from remotetask.contrib.django.results import job_input, task_result
from remotetask.errors import (
    DuplicateTaskError,
    InvalidReferenceError,
    JobNotFoundError,
    UnknownServiceError,
)
from remotetask.jobs import Job
from remotetask.refs import ServiceRef
from remotetask.retry import RetryPolicy
from remotetask.service import TaskService
from remotetask.settings import Settings

OPTIONS = frozenset(
    {"DATABASE", "APP", "SITE", "AUTO_MIGRATE", "MAX_ATTEMPTS", "BACKOFF", "TIMEOUT", "MODULES"}
)
DEFAULT_SITE = "django"

_apps: dict[tuple[str, str], App] = {}
_apps_lock = threading.Lock()


class RemoteTaskBackend(BaseTaskBackend):
    """``TASKS = {"default": {"BACKEND": "remotetask.contrib.django.RemoteTaskBackend",
    "OPTIONS": {"DATABASE": "postgresql://…"}}}``."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = False

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        unknown = set(self.options) - OPTIONS
        if unknown:
            raise ImproperlyConfigured(
                f"unknown OPTIONS of task backend {alias!r}: {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(OPTIONS))})"
            )
        self.site = str(self.options.get("SITE", DEFAULT_SITE))
        self.modules: tuple[str, ...] = tuple(self.options.get("MODULES", ()))
        self.retry = RetryPolicy(
            max_attempts=int(self.options.get("MAX_ATTEMPTS", 1)),
            backoff=float(self.options.get("BACKOFF", 0)),
        )
        timeout = self.options.get("TIMEOUT")
        self.timeout = None if timeout is None else float(timeout)
        self.app = shared_app(alias, self.options)

    # -- the framework's verbs --------------------------------------------------------

    def validate_task(self, task: Task[Any, Any]) -> None:
        """The framework's checks, a queue name that makes a service name, then register it."""
        super().validate_task(task)
        self.service_ref(task.queue_name)
        self._register(task)

    def enqueue(self, task: Task[Any, Any], args: Any, kwargs: Any) -> TaskResult[Any]:
        """Add a job (delayed when ``run_after`` is set); its id is the result id."""
        self.validate_task(task)
        service = self.service(task.queue_name)
        call = job_input(args, kwargs)
        if task.run_after is None:
            job_id = service.add(task.module_path, call)
        else:
            delay = max(0.0, (task.run_after - timezone.now()).total_seconds())
            job_id = service.add_cron_job(task.module_path, call, delay=delay)
        result = task_result(task, service.job(job_id), self.alias)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult[Any]:
        """The result of a job of this backend's site; TaskResultDoesNotExist otherwise."""
        job = self._job(result_id)
        found = _django_task(job.task)
        if found is None:
            raise TaskResultDoesNotExist(f"job {result_id} is not a Django task's")
        queue = ServiceRef.parse(job.service).name
        task = found if found.queue_name == queue else found.using(queue_name=queue)
        return task_result(task, job, self.alias)

    # -- remotetask's side ------------------------------------------------------------

    def service_ref(self, queue_name: str) -> ServiceRef:
        """The service a queue is: ``<SITE>@<queue>``."""
        try:
            return ServiceRef.parse(f"{self.site}@{queue_name}")
        except InvalidReferenceError as exc:
            raise InvalidTask(
                f"queue {queue_name!r} cannot name a remotetask service: {exc}"
            ) from None

    def service(self, queue_name: str) -> TaskService:
        """The service of a queue, created on first use."""
        ref = self.service_ref(queue_name)
        try:
            return self.app.service(ref)
        except UnknownServiceError:
            return self.app.add_service(ref)

    def _register(self, task: Task[Any, Any]) -> None:
        name = task.module_path
        while True:
            known = self.app.tasks.get(name)
            if known is not None:
                if getattr(known.func, "django_func", None) is not task.func:
                    raise InvalidTask(f"remotetask already has another task named {name!r}")
                return
            function = task_function(task, self.alias, self.retry)
            try:
                self.app.register(
                    name, function, context=True, retry=self.retry, timeout=self.timeout
                )
            except DuplicateTaskError:
                continue  # another thread registered it first: check it is the same
            return

    def _job(self, result_id: str) -> Job:
        try:
            job_id = int(result_id)
        except (TypeError, ValueError):
            raise TaskResultDoesNotExist(f"{result_id!r} is not a result id") from None
        for service in self.app.services():
            if service.ref.site == self.site:
                try:
                    return service.job(job_id)
                except JobNotFoundError:
                    continue
        raise TaskResultDoesNotExist(f"no result {result_id} in site {self.site!r}")


def shared_app(alias: str, options: dict[str, Any]) -> App:
    """The one App for these options' ``APP`` (an import path) or ``DATABASE`` (a URL)."""
    if ("APP" in options) == ("DATABASE" in options):
        raise ImproperlyConfigured(
            f"task backend {alias!r} needs OPTIONS with either DATABASE "
            "(a remotetask database URL) or APP (the import path of a remotetask App)"
        )
    key = ("APP", str(options["APP"])) if "APP" in options else ("DATABASE", options["DATABASE"])
    with _apps_lock:
        app = _apps.get(key)
        if app is None:
            app = _apps[key] = _new_app(alias, key, bool(options.get("AUTO_MIGRATE", False)))
        return app


def close_apps() -> None:
    """Stop and close every App the backends opened (tests, and a clean shutdown)."""
    with _apps_lock:
        apps = list(_apps.values())
        _apps.clear()
    for app in apps:
        app.close()


def _new_app(alias: str, key: tuple[str, str], auto_migrate: bool) -> App:
    kind, value = key
    if kind == "DATABASE":
        return App(value, settings=Settings(auto_migrate=auto_migrate))
    app = import_string(value)
    if not isinstance(app, App):
        raise ImproperlyConfigured(f"APP of task backend {alias!r}: {value!r} is not an App")
    return app


def _django_task(path: str) -> Task[Any, Any] | None:
    """The Django task at a module path, or None if the path names none."""
    try:
        found = import_string(path)
    except ImportError:
        return None
    return found if isinstance(found, Task) else None
