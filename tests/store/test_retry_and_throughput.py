"""The store verbs behind the UI's retry button and throughput chart, on every backend."""

from __future__ import annotations

import pytest

import remotetask
from remotetask.jobs import COMPLETED, ERROR, QUEUED


def test_retry_queues_an_errored_job_again_with_attempts_reset(
    service: remotetask.TaskService,
) -> None:
    failed = service.add("error")
    done = service.add("echo", 1)
    service.process()
    assert service.status(failed) == ERROR
    assert service.job(failed).attempts == 1

    assert service.retry(failed) is True
    job = service.job(failed)
    assert (job.status, job.error, job.ended, job.attempts) == (QUEUED, None, None, 0)
    assert service.retry(failed) is False  # already queued
    assert service.retry(done) is False  # completed jobs are not retried
    with pytest.raises(remotetask.JobNotFoundError):
        service.retry(10_000)

    service.process()
    assert service.status(failed) == ERROR
    assert service.job(failed).attempts == 1  # the retry policy applies afresh


def test_retry_only_touches_its_own_service(
    app: remotetask.App, service: remotetask.TaskService
) -> None:
    failed = service.add("error")
    service.process()
    other = app.add_service("site2@Other")
    with pytest.raises(remotetask.JobNotFoundError):
        other.retry(failed)
    assert service.status(failed) == ERROR


def test_finished_jobs_are_counted_per_minute_of_their_end(
    service: remotetask.TaskService, clock: remotetask.FrozenClock
) -> None:
    since = 999_960.0  # a whole minute, 40 s before the clock's start
    clock.set(since - 1)
    service.add("echo", "before the window")
    service.process()
    clock.set(1_000_000.0)
    service.add("echo", 1)
    service.add("error")
    service.process()
    clock.set(since + 60)  # exactly on the boundary: the second minute
    service.add("echo", 2)
    service.process()
    clock.set(since + 179.9995)
    service.add("echo", 3)
    service.process()
    service.cancel(service.add("echo", "cancelled jobs did not run"))

    assert service.throughput(since) == {0: (1, 1), 1: (1, 0), 2: (1, 0)}
    assert service.counts()[COMPLETED] == 4
    assert service.throughput(since + 3600) == {}
