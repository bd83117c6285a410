"""remotetask: run named tasks as jobs on a server, for other machines.

The public names are listed in ``__all__`` and pinned by a test.
"""

from typing import TYPE_CHECKING, Any

from remotetask.app import App
from remotetask.clock import FrozenClock, SystemClock
from remotetask.errors import (
    AuthenticationError,
    ConfigError,
    DuplicateTaskError,
    FieldError,
    InvalidInputError,
    InvalidReferenceError,
    InvalidScheduleError,
    InvalidStatusError,
    JobNotFoundError,
    PermissionDeniedError,
    RemoteTaskError,
    RequestError,
    SchemaError,
    ServerUnavailableError,
    StoreError,
    TaskError,
    UnknownServiceError,
    UnknownTaskError,
)
from remotetask.events import JobObserver
from remotetask.jobs import (
    CANCELLED,
    COMPLETED,
    CRONJOB,
    DELAYED,
    ERROR,
    PROCESSING,
    QUEUED,
    START_LATER,
    CronRun,
    Job,
    JobQuery,
    Outcome,
    Status,
)
from remotetask.refs import ServiceRef
from remotetask.retry import RetryPolicy
from remotetask.schedule import Schedule
from remotetask.service import JobContext, TaskService
from remotetask.settings import MultiProcessor, Settings, SimpleProcessor
from remotetask.tasks import Task

if TYPE_CHECKING:
    from remotetask.client import Client, RemoteService

__version__ = "0.1.0.dev0"

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "CRONJOB",
    "DELAYED",
    "ERROR",
    "PROCESSING",
    "QUEUED",
    "START_LATER",
    "App",
    "AuthenticationError",
    "Client",
    "ConfigError",
    "CronRun",
    "DuplicateTaskError",
    "FieldError",
    "FrozenClock",
    "InvalidInputError",
    "InvalidReferenceError",
    "InvalidScheduleError",
    "InvalidStatusError",
    "Job",
    "JobContext",
    "JobNotFoundError",
    "JobObserver",
    "JobQuery",
    "MultiProcessor",
    "Outcome",
    "PermissionDeniedError",
    "RemoteService",
    "RemoteTaskError",
    "RequestError",
    "RetryPolicy",
    "Schedule",
    "SchemaError",
    "ServerUnavailableError",
    "ServiceRef",
    "Settings",
    "SimpleProcessor",
    "Status",
    "StoreError",
    "SystemClock",
    "Task",
    "TaskError",
    "TaskService",
    "UnknownServiceError",
    "UnknownTaskError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import the HTTP client only when asked for: a worker or a server never needs it,
    and httpx (with what it pulls in) costs a worker several MiB and 0.1 s at start."""
    if name in ("Client", "RemoteService"):
        from remotetask import client

        return getattr(client, name)
    raise AttributeError(f"module 'remotetask' has no attribute {name!r}")
