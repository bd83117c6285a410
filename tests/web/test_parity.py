"""One suite, two services: a local TaskService and a remote one through a live server.

Code written against a local service must run against a remote one
unchanged: same calls, same values, same exception classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import remotetask
from remotetask.errors import (
    InvalidScheduleError,
    InvalidStatusError,
    JobNotFoundError,
    UnknownTaskError,
)
from tests.web.conftest import SITE1, Served


@pytest.fixture(params=["local", "remote"])
def service(request: pytest.FixtureRequest, served: Served) -> Iterator[Any]:
    """The same service, used directly or through the HTTP client; processing runs."""
    local = served.app.service(SITE1)
    local.start_processing()
    if request.param == "local":
        yield local
    else:
        with served.client() as client:
            yield client.service(SITE1)
    local.stop_processing(wait=True)


def test_add_wait_result_and_error(service: Any) -> None:
    assert {"echo", "error", "counter"} <= set(service.available_tasks())
    job_id = service.add("echo", {"foo": "bar"})
    assert isinstance(job_id, int)
    job = service.wait(job_id, timeout=10)
    assert job.status == remotetask.COMPLETED
    assert service.status(job_id) == "completed"
    assert service.result(job_id) == {"foo": "bar"}
    assert service.error(job_id) is None
    failing = service.add("error")
    assert service.wait(failing, timeout=10).status == "error"
    assert service.error(failing) == "An error occurred."
    assert service.result(failing) is None


def test_same_exceptions(service: Any) -> None:
    with pytest.raises(UnknownTaskError):
        service.add("no-such-task")
    with pytest.raises(ValueError, match="no-such-task"):
        service.add("no-such-task")
    with pytest.raises(JobNotFoundError):
        service.status(987_654)
    with pytest.raises(InvalidStatusError):
        service.clean(["queued"])
    with pytest.raises(InvalidScheduleError):
        service.add_cron_job("echo", minute=[99])
    with pytest.raises(remotetask.InvalidInputError):
        service.add("echo", {"not": float("nan")})


def test_start_later_cancel_and_clean(service: Any) -> None:
    later = service.add("echo", 1, start_later=True)
    assert service.status(later) == "start later"
    assert service.cancel(later) is True
    assert service.status(later) == "cancelled"
    assert service.cancel(later) is False
    parked = service.add("echo", 2, start_later=True)
    assert service.start_job(parked) is True
    assert service.start_job(parked) is False
    assert service.wait(parked, timeout=10).result == 2
    assert service.clean() == 2
    assert later not in service.jobs
    with pytest.raises(KeyError):
        service.jobs[later]


def test_cron_jobs_and_delays(service: Any) -> None:
    cron_id = service.add_cron_job("echo", "tick", minute=[0, 30])
    assert service.status(cron_id) == "cronjob"
    schedule = service.change_cron_job(cron_id, hour=[2])
    assert isinstance(schedule, remotetask.Schedule)
    assert (schedule.minute, schedule.hour) == ((0, 30), (2,))  # change keeps the minutes
    replaced = service.update_cron_job(cron_id, minute=(5,))  # the original's update
    assert (replaced.minute, replaced.hour) == ((5,), ())  # the hour is gone
    assert service.job(cron_id).schedule == replaced
    expression = service.update_cron_job(cron_id, cron="*/5 * * * *", timezone="Europe/Berlin")
    assert (expression.cron, expression.timezone) == ("*/5 * * * *", "Europe/Berlin")
    assert service.change_cron_job(cron_id, timezone="Asia/Tokyo").cron == "*/5 * * * *"
    delayed = service.add_cron_job("echo", "later", delay=3600)
    assert service.status(delayed) == "delayed"
    with pytest.raises(InvalidScheduleError, match="stays one"):
        service.update_cron_job(cron_id, delay=60)
    with pytest.raises(InvalidScheduleError, match="delayed and stays so"):
        service.update_cron_job(delayed, minute=(5,))
    assert service.update_cron_job(delayed, delay=7200).delay == 7200
    every_minute = service.add_cron_job("echo", delay=0)  # no delay, as the original
    assert (service.status(every_minute), service.job(every_minute).schedule) == (
        "cronjob",
        remotetask.Schedule(),
    )
    assert service.cancel_all() == 3
    assert service.status(cron_id) == "cancelled"


def test_retry_delete_and_idempotency(service: Any) -> None:
    failing = service.add("error")
    service.wait(failing, timeout=10)
    assert service.retry(failing) is True
    assert service.wait(failing, timeout=10).attempts == 1
    assert service.delete(failing) is True
    with pytest.raises(JobNotFoundError):
        service.job(failing)
    first = service.add("echo", "once", idempotency_key="key-1")
    assert service.add("echo", "once", idempotency_key="key-1") == first
    parked = service.add("echo", start_later=True)
    assert service.delete(parked) is False
    ids = [job.id for job in service.jobs.values()]
    assert first in ids
    assert parked in ids
    assert len(service.jobs) == len(ids)
