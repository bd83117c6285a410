"""Cron edge cases as the original had them: delay=0 is no delay, failed firings are retried.

The original retried every job whose task raised a generic exception (three times
more, at once), cron jobs included. Here a firing is retried under its task's
``RetryPolicy``, on the same ``cron_runs`` row: one run per (job, scheduled time)
however often it is tried.
"""

from __future__ import annotations

import pytest

import remotetask
from remotetask import App, RetryPolicy, Schedule, TaskService
from tests.waiting import wait_until


def test_delay_zero_is_no_delay_as_the_original(service: TaskService) -> None:
    """The original's form always sent delay=0, and update() read 0 as None."""
    assert Schedule(delay=0) == Schedule()
    assert not Schedule(delay=0).is_delay
    assert Schedule(delay=0, minute=(5,)) == Schedule(minute=(5,))
    jobid = service.add_cron_job("counter", delay=0)
    assert service.status(jobid) == "cronjob"
    assert service.process(0) == 0
    assert service.process(60) == 1  # every minute, like a cron job with no field given
    assert service.process(120) == 1
    assert service.status(jobid) == "cronjob"
    delayed = service.add_cron_job("counter", delay=5)
    with pytest.raises(remotetask.InvalidScheduleError, match="delayed and stays so"):
        service.update_cron_job(delayed, delay=0)


def flaky(app: App, failures: int, retry: RetryPolicy | None = None) -> list[int]:
    """Register `flaky`, which raises a generic exception on its first `failures` calls."""
    calls: list[int] = []

    @app.task(context=True, retry=retry)
    def flaky(ctx: remotetask.JobContext, input: object) -> int:
        calls.append(ctx.attempts)
        if len(calls) <= failures:
            raise RuntimeError(f"hiccup {len(calls)}")
        return len(calls)

    return calls


def test_a_failed_firing_is_retried_at_once_on_the_same_run(app: App, service: TaskService) -> None:
    calls = flaky(app, failures=2)
    jobid = service.add_cron_job("flaky", minute=(0,))
    service.process(0)
    assert service.process(3600) == 3  # three tries of the 01:00 firing, in the one call
    assert calls == [1, 2, 3]  # ctx.attempts counts the tries of this firing
    [run] = service.cron_runs(jobid)
    assert (run.scheduled_for, run.attempts, run.retry_at) == (3600, 3, None)
    assert (run.result, run.error, run.ended) == (3, None, run.ended)
    assert run.ended is not None
    job = service.job(jobid)
    assert (job.status, job.result, job.error, job.next_call) == ("cronjob", 3, None, 7200)
    assert job.attempts == 3  # every run of the task counts


def test_a_firing_that_keeps_failing_ends_after_the_policy_and_the_job_fires_again(
    app: App, service: TaskService
) -> None:
    calls = flaky(app, failures=100)
    jobid = service.add_cron_job("flaky", minute=(0,))
    service.process(0)
    assert service.process(3600) == 4  # the default policy: four runs, as the original
    [run] = service.cron_runs(jobid)
    assert (run.attempts, run.retry_at, run.error) == (4, None, "hiccup 4")
    assert run.ended is not None
    job = service.job(jobid)
    assert (job.status, job.error, job.next_call) == ("cronjob", "hiccup 4", 7200)
    assert service.process(7200) == 4  # the next firing is tried afresh
    assert [r.scheduled_for for r in service.cron_runs(jobid)] == [7200, 3600]
    assert len(calls) == 8


def test_a_task_error_is_not_retried(app: App, service: TaskService) -> None:
    jobid = service.add_cron_job("error", minute=(0,))
    service.process(0)
    assert service.process(3600) == 1
    [run] = service.cron_runs(jobid)
    assert (run.attempts, run.error) == (1, "An error occurred.")


def test_a_retry_waits_out_the_backoff(app: App, service: TaskService) -> None:
    calls = flaky(app, failures=1, retry=RetryPolicy(max_attempts=2, backoff=30))
    jobid = service.add_cron_job("flaky", minute=(0,))
    service.process(0)
    assert service.process(3600) == 1
    [run] = service.cron_runs(jobid)
    assert (run.attempts, run.ended, run.retry_at, run.error) == (
        1,
        None,
        3630,
        "hiccup 1",
    )
    assert service.has_jobs_waiting(3629) is False
    assert service.runner.next_due() == 3630
    assert service.process(3629) == 0
    assert service.has_jobs_waiting(3630) is True
    assert service.process(3630) == 1
    [run] = service.cron_runs(jobid)
    assert (run.attempts, run.retry_at, run.result, run.error) == (2, None, 2, None)
    assert calls == [1, 2]


def test_a_cancelled_cron_job_drops_its_pending_retry(app: App, service: TaskService) -> None:
    calls = flaky(app, failures=1, retry=RetryPolicy(max_attempts=3, backoff=30))
    jobid = service.add_cron_job("flaky", minute=(0,))
    service.process(0)
    service.process(3600)
    assert service.cancel(jobid) is True
    assert service.process(3700) == 0
    [run] = service.cron_runs(jobid)
    assert (run.attempts, run.retry_at, run.error) == (1, None, "hiccup 1")
    assert run.ended == 3700
    assert calls == [1]


def test_the_processing_thread_retries_a_failed_firing(
    app: App, service: TaskService, clock: remotetask.FrozenClock
) -> None:
    calls = flaky(app, failures=1)
    jobid = service.add_cron_job("flaky", minute=range(60))
    service.start_processing()
    try:
        wait_until(lambda: service.job(jobid).next_call is not None)
        clock.advance(60)  # then the clock stands still: the retry must not wait for it
        wait_until(lambda: len(calls) >= 2 and service.cron_runs(jobid)[-1].ended is not None)
    finally:
        service.stop_processing(wait=True)
    first = service.cron_runs(jobid)[-1]
    assert (first.attempts, first.result, first.error) == (2, 2, None)
