"""The original lovely.remotetask README, replayed on the new names, on every backend.

Each test follows one part of the seed document in order; the cron parts
drive time through ``process(now)`` exactly as the original did.
"""

from __future__ import annotations

import logging
import threading

import pytest

import remotetask
from remotetask import App, TaskService
from tests.waiting import wait_until


def processing_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("remotetasks."))


def log_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "remotetask"]


def test_tasks_jobs_cancel_and_errors(app: App, service: TaskService) -> None:
    assert set(service.available_tasks()) == {"echo", "error", "counter"}
    jobid = service.add("echo", {"foo": "bar"})
    assert isinstance(jobid, int)
    assert service.status(jobid) == "queued"
    assert service.result(jobid) is None
    assert service.cancel(jobid) is True
    assert service.status(jobid) == "cancelled"
    assert service.is_processing() is False

    jobid = service.add("echo", {"foo": "bar"})
    service.process()
    assert service.status(jobid) == "completed"
    assert service.result(jobid) == {"foo": "bar"}

    jobid = service.add("error")
    service.process()
    assert service.status(jobid) == "error"
    assert service.error(jobid) == "An error occurred."

    assert len(service.jobs) == 3
    service.add("echo", {"blah": "blah"})
    assert sorted(job.status for job in service.jobs.values()) == [
        "cancelled",
        "completed",
        "error",
        "queued",
    ]
    assert service.clean() == 3
    assert sorted(job.status for job in service.jobs.values()) == ["queued"]


def test_adding_an_unknown_task_is_a_value_error(service: TaskService) -> None:
    with pytest.raises(ValueError, match="no task named 'nope'"):
        service.add("nope")
    assert len(service.jobs) == 0


def test_delayed_job_runs_once_at_its_time(service: TaskService) -> None:
    jobid = service.add_cron_job("counter", {"foo": "bar"}, delay=10)
    assert service.status(jobid) == "delayed"
    service.process(0)
    assert service.status(jobid) == "delayed"
    service.process(9)
    assert service.status(jobid) == "delayed"
    service.process(10)
    assert service.status(jobid) == "completed"
    assert service.result(jobid) == 1


def test_cron_job_fires_at_its_minutes_and_can_be_rescheduled(service: TaskService) -> None:
    jobid = service.add_cron_job("counter", {"foo": "bar"}, minute=(10, 13))
    assert service.status(jobid) == "cronjob"
    service.process(0)
    assert service.status(jobid) == "cronjob"
    assert service.result(jobid) is None
    service.process(10 * 60)
    assert service.status(jobid) == "cronjob"
    assert service.result(jobid) == 1
    service.process(11 * 60)
    assert service.result(jobid) == 1
    service.process(13 * 60)
    assert service.result(jobid) == 2

    service.update_cron_job(jobid, minute=(11, 13))
    service.process(10 * 60 + 60 * 60)
    assert service.result(jobid) == 2
    service.process(11 * 60 + 60 * 60)
    assert service.result(jobid) == 3
    runs = service.cron_runs(jobid)
    assert [run.scheduled_for for run in runs] == [4260.0, 780.0, 600.0]
    assert [run.result for run in runs] == [3, 2, 1]


def test_reschedule_recomputes_from_the_next_pass(service: TaskService) -> None:
    jobid = service.add_cron_job("counter", minute=(10,))
    service.process(0)
    assert service.jobs[jobid].next_call == 600
    assert service.reschedule(jobid) is True
    service.process(700)
    assert service.jobs[jobid].next_call == 600 + 3600
    assert service.result(jobid) is None


@pytest.fixture
def two_sites(app: App) -> tuple[TaskService, TaskService]:
    return app.add_service("site1@TestTaskService1"), app.add_service("@RootTaskService")


def test_autostart_directives_log_as_the_original(
    app: App, two_sites: tuple[TaskService, TaskService], caplog: pytest.LogCaptureFixture
) -> None:
    service, root_service = two_sites
    caplog.set_level(logging.INFO, logger="remotetask")

    app.autostart("site1@TestTaskService1, site2@TestTaskService2,@RootTaskService")
    assert service.is_processing()
    assert root_service.is_processing()
    assert log_lines(caplog) == [
        ("INFO", "service TestTaskService1 on site site1 started"),
        ("ERROR", "site site2 not found"),
        ("INFO", "service RootTaskService on site root started"),
    ]

    cases = [
        ("site1@*", True, False, [("INFO", "service TestTaskService1 on site site1 started")]),
        (
            "*@*",
            True,
            True,
            [
                ("INFO", "service RootTaskService on site root started"),
                ("INFO", "service TestTaskService1 on site site1 started"),
            ],
        ),
        (
            "*@TestTaskService1",
            True,
            False,
            [("INFO", "service TestTaskService1 on site site1 started")],
        ),
        ("*@Foo", False, False, [("WARNING", "no services started by directive *@Foo")]),
        ("site1@Nope", False, False, [("ERROR", "service Nope on site site1 not found")]),
    ]
    for directive, site_running, root_running, expected in cases:
        app.stop()
        assert not service.is_processing()
        assert not root_service.is_processing()
        caplog.clear()
        app.autostart([directive])
        assert service.is_processing() is site_running, directive
        assert root_service.is_processing() is root_running, directive
        assert log_lines(caplog) == expected, directive
    app.stop()


def test_threads_are_named_per_site_and_end_after_stop(
    app: App, two_sites: tuple[TaskService, TaskService]
) -> None:
    service, root_service = two_sites
    service.start_processing()
    root_service.start_processing()
    assert processing_threads() == [
        "remotetasks.RootTaskService",
        "remotetasks.site1.TestTaskService1",
    ]
    service2 = app.add_service("site2@TestTaskService1")
    assert service2.is_processing() is False
    service2.start_processing()
    assert processing_threads() == [
        "remotetasks.RootTaskService",
        "remotetasks.site1.TestTaskService1",
        "remotetasks.site2.TestTaskService1",
    ]
    service.stop_processing()
    service2.stop_processing()
    root_service.stop_processing()
    wait_until(lambda: processing_threads() == [])


def test_a_started_service_runs_jobs_without_being_asked(
    app: App, service: TaskService, clock: remotetask.FrozenClock
) -> None:
    service.start_processing()
    jobid = service.add("echo", {"foo": "bar"})
    wait_until(lambda: service.status(jobid) == "completed")
    assert service.result(jobid) == {"foo": "bar"}
    service.stop_processing(wait=True)
