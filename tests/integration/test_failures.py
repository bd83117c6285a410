"""Failures keep the original's semantics: TaskError at once, other errors retried."""

from __future__ import annotations

import logging

import pytest

import remotetask
from remotetask import App, RetryPolicy, TaskService
from tests.waiting import wait_until


def test_unexpected_exception_is_retried_three_times_then_error(
    app: App, service: TaskService, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []

    @app.task
    def flaky(input: object) -> None:
        runs.append(1)
        raise KeyError("missing")

    caplog.set_level(logging.ERROR, logger="remotetask")
    jobid = service.add("flaky")
    service.process()
    job = service.jobs[jobid]
    assert len(runs) == 4
    assert job.status == "error"
    assert job.attempts == 4
    assert job.error == "'missing'"  # the message as str() gives it, as the original kept it
    assert job.error_type == "KeyError"
    assert job.traceback is not None
    assert "raise KeyError" in job.traceback
    tracebacks = [r for r in caplog.records if "Traceback" in r.getMessage()]
    assert len(tracebacks) == 4


def test_task_that_recovers_on_a_retry_completes(app: App, service: TaskService) -> None:
    runs: list[int] = []

    @app.task
    def second_time_lucky(input: object) -> str:
        runs.append(1)
        if len(runs) < 2:
            raise RuntimeError("first run fails")
        return "ok"

    jobid = service.add("second_time_lucky")
    service.process()
    assert service.status(jobid) == "completed"
    assert service.result(jobid) == "ok"
    assert service.jobs[jobid].attempts == 2


def test_retry_policy_per_task_with_backoff(
    app: App, service: TaskService, clock: remotetask.FrozenClock
) -> None:
    @app.task(retry=RetryPolicy(max_retries=2, backoff=10, factor=3))
    def always_broken(input: object) -> None:
        raise RuntimeError("broken")

    jobid = service.add("always_broken")
    now = clock.now()
    assert service.process(now) == 1
    job = service.jobs[jobid]
    assert (job.status, job.attempts, job.next_call) == ("queued", 1, now + 10)
    assert service.process(now + 9) == 0
    assert service.process(now + 10) == 1
    assert service.jobs[jobid].next_call == now + 10 + 30
    assert service.process(now + 40) == 1
    job = service.jobs[jobid]
    assert (job.status, job.attempts) == ("error", 3)


def test_no_retries_fails_on_the_first_exception(app: App, service: TaskService) -> None:
    @app.task(retry=RetryPolicy(max_retries=0))
    def once(input: object) -> None:
        raise ValueError("bad value")

    jobid = service.add("once")
    service.process()
    assert service.status(jobid) == "error"
    assert service.error(jobid) == "bad value"
    assert service.job(jobid).error_type == "ValueError"


def test_job_whose_task_disappeared_ends_in_error(file_url: str) -> None:
    first = App(file_url)
    first.register("vanishing", lambda input: input)
    jobid = first.add_service("site1@Svc").add("vanishing")
    first.close()
    later = App(file_url)
    service = later.service("site1@Svc")
    service.process()
    assert service.status(jobid) == "error"
    assert service.error(jobid) == "task 'vanishing' is not registered"
    later.close()


def test_result_that_is_not_json_is_an_error_not_a_crash(app: App, service: TaskService) -> None:
    @app.task
    def returns_a_set(input: object) -> object:  # untyped: no type says how to encode it
        return {1, 2}

    jobid = service.add("returns_a_set")
    service.process()
    assert service.status(jobid) == "error"
    assert "result must be a JSON value" in (service.error(jobid) or "")


def test_non_json_input_is_refused_and_nothing_is_stored(service: TaskService) -> None:
    for bad in (float("nan"), {"when": object()}, {1, 2}):
        with pytest.raises(remotetask.InvalidInputError):
            service.add("echo", bad)
    assert len(service.jobs) == 0


def test_processing_thread_survives_failing_tasks(app: App, service: TaskService) -> None:
    @app.task(retry=RetryPolicy(max_retries=0))
    def boom(input: object) -> None:
        raise RuntimeError("boom")

    service.start_processing()
    failing = [service.add("boom") for _ in range(3)]
    ok = service.add("echo", "still alive")
    wait_until(lambda: service.status(ok) == "completed")
    assert all(service.status(j) == "error" for j in failing)
    assert service.is_processing()
    service.stop_processing(wait=True)


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


@pytest.mark.parametrize(
    ("raised", "error_type", "error"),
    [
        (_Unprintable(), "tests.integration.test_failures._Unprintable", "could not be"),
        (SystemExit(3), "SystemExit", "3"),
        (KeyboardInterrupt(), "KeyboardInterrupt", ""),
    ],
    ids=["unprintable", "SystemExit", "KeyboardInterrupt"],
)
def test_an_exception_beyond_exception_or_text_is_the_jobs_error_at_once(
    app: App, service: TaskService, raised: BaseException, error_type: str, error: str
) -> None:
    @app.task(retry=RetryPolicy(max_attempts=1))
    def leaves_oddly(input: object) -> None:
        raise raised

    service.start_processing()
    leaving = service.add("leaves_oddly")
    ok = service.add("echo", "still alive")
    wait_until(lambda: service.status(ok) == "completed")
    job = service.jobs[leaving]
    assert (job.status, job.attempts, job.error_type) == ("error", 1, error_type)
    assert error in (job.error or "")
    assert "raise raised" in (job.traceback or "")
    assert service.is_processing()
    service.stop_processing(wait=True)


def test_an_error_message_with_a_nul_byte_is_stored_with_it_escaped(
    app: App, service: TaskService
) -> None:
    """PostgreSQL text cannot hold NUL: unescaped, the failure could never be stored."""

    @app.task(retry=RetryPolicy(max_attempts=1))
    def nul_in_message(input: object) -> None:
        raise ValueError("before\x00after")

    jobid = service.add("nul_in_message")
    done = service.add("echo", "ran beside it")
    service.process()
    job = service.jobs[jobid]
    assert (job.status, job.error, job.attempts) == ("error", "before\\x00after", 1)
    assert job.traceback is not None
    assert "\x00" not in job.traceback
    assert "before\\x00after" in job.traceback
    assert service.status(done) == "completed"
