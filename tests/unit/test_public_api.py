"""The public surface is a promise: changing it must be a conscious decision."""

from __future__ import annotations

import subprocess
import sys

import remotetask

EXPECTED = {
    "App",
    "Settings",
    "TaskService",
    "Task",
    "Job",
    "CronRun",
    "JobContext",
    "JobObserver",
    "JobQuery",
    "Outcome",
    "Schedule",
    "Status",
    "ServiceRef",
    "RetryPolicy",
    "SimpleProcessor",
    "MultiProcessor",
    "FrozenClock",
    "SystemClock",
    "QUEUED",
    "PROCESSING",
    "COMPLETED",
    "ERROR",
    "CANCELLED",
    "DELAYED",
    "CRONJOB",
    "START_LATER",
    "RemoteTaskError",
    "TaskError",
    "UnknownTaskError",
    "DuplicateTaskError",
    "InvalidInputError",
    "FieldError",
    "InvalidScheduleError",
    "InvalidStatusError",
    "InvalidReferenceError",
    "UnknownServiceError",
    "JobNotFoundError",
    "ConfigError",
    "StoreError",
    "SchemaError",
    "Client",
    "RemoteService",
    "AuthenticationError",
    "PermissionDeniedError",
    "ServerUnavailableError",
    "RequestError",
    "__version__",
}


def test_all_is_pinned() -> None:
    assert set(remotetask.__all__) == EXPECTED
    for name in remotetask.__all__:
        assert hasattr(remotetask, name), name


def test_status_strings_are_the_originals() -> None:
    assert [str(s) for s in remotetask.Status] == [
        "queued",
        "processing",
        "completed",
        "error",
        "cancelled",
        "delayed",
        "cronjob",
        "start later",
    ]


def test_error_tree_keeps_the_original_contracts() -> None:
    assert issubclass(remotetask.UnknownTaskError, ValueError)
    assert issubclass(remotetask.InvalidStatusError, ValueError)
    assert issubclass(remotetask.JobNotFoundError, LookupError)
    for name in remotetask.__all__:
        value = getattr(remotetask, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, remotetask.RemoteTaskError), name


def test_a_worker_does_not_load_the_http_client() -> None:
    """httpx (and what it pulls in) would cost every worker and server process memory."""
    code = "import sys, remotetask, remotetask.cli; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert remotetask.Client.__module__ == "remotetask.client"


def test_a_worker_with_sync_tasks_loads_neither_asyncio_nor_openssl() -> None:
    """Each is a few MiB of every worker: only async tasks and logins need them."""
    code = (
        "import sys, remotetask\n"
        "app = remotetask.App('sqlite://')\n"
        "app.register('sync', lambda value: value)\n"
        "service = app.add_service('@S')\n"
        "job = service.add('sync', 1)\n"
        "service.process()\n"
        "print(service.result(job), 'asyncio' in sys.modules, '_hashlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "False", "False"]
