"""A real Django (the example project) enqueuing through remotetask, on both stores.

Django is set up once for this module (settings are process-wide); each test
points the backend at a fresh remotetask database with ``override_settings``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

django = pytest.importorskip("django", reason="the django extra is not installed")
PROJECT = Path(__file__).resolve().parents[2] / "examples" / "django_project"
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

import remotetask  # noqa: E402
from remotetask.contrib.django import RemoteTaskBackend, close_apps, worker_app  # noqa: E402
from remotetask.contrib.django.framework import (  # noqa: E402
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)
from remotetask.web import WebSettings  # noqa: E402
from tests.waiting import wait_until  # noqa: E402
from tests.web.live import LiveServer  # noqa: E402

os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
django.setup()
del os.environ["DJANGO_SETTINGS_MODULE"]  # read once; other tests' subprocesses need not see it

from shop.tasks import fetch_rate, order_total, send_receipt  # noqa: E402


def tasks_setting(url: str, **options: Any) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "remotetask.contrib.django.RemoteTaskBackend",
            "QUEUES": ["default", "emails"],
            "OPTIONS": {"DATABASE": url, "AUTO_MIGRATE": True, **options},
        }
    }


@pytest.fixture
def backend(reopenable_url: str) -> Iterator[RemoteTaskBackend]:
    """The project's backend on a fresh database (one retry at most, for speed)."""
    with override_settings(TASKS=tasks_setting(reopenable_url, MAX_ATTEMPTS=2)):
        chosen = task_backends["default"]
        assert isinstance(chosen, RemoteTaskBackend)
        yield chosen
    close_apps()


def run_all(backend: RemoteTaskBackend) -> int:
    return sum(service.process() for service in backend.app.services())


def test_enqueue_run_and_get_result(backend: RemoteTaskBackend) -> None:
    result = order_total.enqueue([1.5, 2.5], discount=0.5)
    assert result.status == TaskResultStatus.READY
    assert (result.args, result.kwargs) == ([[1.5, 2.5]], {"discount": 0.5})
    assert result.enqueued_at is not None
    assert result.enqueued_at.tzinfo is not None
    job = backend.app.service("django@default").job(int(result.id))
    assert job.task == "shop.tasks.order_total"
    assert job.input == {"args": [[1.5, 2.5]], "kwargs": {"discount": 0.5}}
    assert run_all(backend) == 1
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 2.0
    assert result.attempts == 1
    assert result.errors == []
    assert result.started_at is not None
    assert result.finished_at is not None
    assert result.finished_at >= result.started_at
    fetched = order_total.get_result(result.id)
    assert fetched.return_value == 2.0
    assert fetched.task.func is order_total.func


def test_errors_attempts_and_the_exception_class(backend: RemoteTaskBackend) -> None:
    result = send_receipt.enqueue(9, "nobody")
    assert backend.app.service("django@emails").job(int(result.id)).status == "queued"
    run_all(backend)
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 2
    assert [error.exception_class for error in result.errors] == [ValueError]
    assert "cannot mail 'nobody'" in result.errors[0].traceback
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018


def test_context_async_and_queues(backend: RemoteTaskBackend) -> None:
    receipt = send_receipt.enqueue(order_id=7, email="ada@example.org")
    assert receipt.task.queue_name == "emails"
    rate = fetch_rate.enqueue("USD")
    moved = order_total.using(queue_name="emails").enqueue([2.0])
    assert backend.app.service("django@emails").job(int(moved.id)).task == "shop.tasks.order_total"
    run_all(backend)
    assert send_receipt.get_result(receipt.id).return_value == (
        "receipt for order 7 to ada@example.org (attempt 1)"
    )
    assert fetch_rate.get_result(rate.id).return_value == 1.08
    assert order_total.get_result(moved.id).task.queue_name == "emails"


def test_run_after_makes_a_delayed_job(backend: RemoteTaskBackend) -> None:
    later = timezone.now() + dt.timedelta(hours=1)
    result = order_total.using(run_after=later).enqueue([1.0])
    job = backend.app.service("django@default").job(int(result.id))
    assert job.status == remotetask.DELAYED
    assert job.schedule is not None
    assert job.schedule.delay == pytest.approx(3600, abs=5)
    assert result.status == TaskResultStatus.READY
    assert run_all(backend) == 0


def test_what_remotetask_cannot_do_is_refused(backend: RemoteTaskBackend) -> None:
    assert (backend.supports_defer, backend.supports_async_task) == (True, True)
    assert (backend.supports_get_result, backend.supports_priority) == (True, False)
    with pytest.raises(InvalidTask, match="priority"):
        order_total.using(priority=10)
    with pytest.raises(InvalidTask, match="Queue 'nowhere' is not valid"):
        order_total.using(queue_name="nowhere")
    with pytest.raises(remotetask.InvalidInputError):
        order_total.enqueue([object()])
    for missing in ("12345", "not-a-number"):
        with pytest.raises(TaskResultDoesNotExist):
            backend.get_result(missing)
    backend.app.register("echo", lambda input: input)
    plain = backend.app.service("django@default").add("echo", 1)
    with pytest.raises(TaskResultDoesNotExist, match="not a Django task"):
        backend.get_result(str(plain))
    assert len(backend.app.service("django@default").jobs) == 1  # only the echo job


def test_signals_are_sent(backend: RemoteTaskBackend) -> None:
    heard: list[tuple[str, str]] = []

    def listen(name: str) -> Any:
        def receiver(sender: type, task_result: Any, **_: Any) -> None:
            heard.append((name, str(task_result.status)))

        return receiver

    receivers = {
        signal: listen(name)
        for name, signal in [
            ("enqueued", task_enqueued),
            ("started", task_started),
            ("finished", task_finished),
        ]
    }
    for sent, receiver in receivers.items():
        sent.connect(receiver)
    try:
        order_total.enqueue([1.0])
        send_receipt.enqueue(1, "nobody")
        run_all(backend)
    finally:
        for sent, receiver in receivers.items():
            sent.disconnect(receiver)
    assert heard == [
        ("enqueued", "READY"),
        ("enqueued", "READY"),
        ("started", "RUNNING"),
        ("finished", "SUCCESSFUL"),
        ("started", "RUNNING"),
        ("started", "RUNNING"),  # the retry; only the last failure finishes the task
        ("finished", "FAILED"),
    ]


def test_bad_options_are_refused(reopenable_url: str) -> None:
    from django.core.exceptions import ImproperlyConfigured

    for options, message in (
        ({"DATABASE": reopenable_url, "PRIORITY": 1}, "unknown OPTIONS"),
        ({}, "needs OPTIONS with either DATABASE"),
        ({"APP": "shop.tasks.order_total"}, "is not an App"),
    ):
        setting = tasks_setting(reopenable_url)
        setting["default"]["OPTIONS"] = options
        with override_settings(TASKS=setting), pytest.raises(ImproperlyConfigured, match=message):
            task_backends["default"]
    close_apps()


def test_the_jobs_show_in_the_api_and_the_cli(backend: RemoteTaskBackend) -> None:
    result = order_total.enqueue([3.0])
    with LiveServer(backend.app, WebSettings(auth=False)) as server:
        listed = subprocess.run(
            [sys.executable, "-m", "remotetask", "jobs", "--json"],
            env={
                **os.environ,
                "REMOTETASK_URL": server.url,
                "REMOTETASK_SERVICE": "django@default",
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert listed.returncode == 0, listed.stderr
    [job] = json.loads(listed.stdout)
    assert (job["id"], job["task"], job["status"]) == (
        int(result.id),
        "shop.tasks.order_total",
        "queued",
    )


def test_a_remotetask_worker_runs_the_project_tasks(reopenable_url: str, tmp_path: Path) -> None:
    """``remotetask worker --app remotetask.contrib.django:app``, as docs/django.md says."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("REMOTETASK_")},
        "DJANGO_SETTINGS_MODULE": "mysite.settings",
        "REMOTETASK_DATABASE": reopenable_url,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "remotetask", "worker", "--app", "remotetask.contrib.django:app"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with override_settings(TASKS=tasks_setting(reopenable_url, MAX_ATTEMPTS=3)):
            results = [
                order_total.enqueue([2.0, 2.0]),
                send_receipt.enqueue(3, "grace@example.org"),
                fetch_rate.enqueue("EUR"),
            ]

            def finished() -> bool:
                for result in results:
                    result.refresh()
                return all(result.is_finished for result in results)

            wait_until(finished, timeout=60, what="the worker ran the three tasks")
            assert [r.return_value for r in results] == [
                4.0,
                "receipt for order 3 to grace@example.org (attempt 1)",
                1.0,
            ]
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
        close_apps()
    assert worker.returncode == 0, err
    assert "processing django@default, django@emails" in err


def test_worker_app_refuses_another_backend() -> None:
    setting = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    with override_settings(TASKS=setting), pytest.raises(remotetask.ConfigError, match="Dummy"):
        worker_app()
