from __future__ import annotations

import pytest

import remotetask
from remotetask import App


def test_task_decorator_forms_and_register() -> None:
    app = App("sqlite://")

    @app.task
    def plain(input: int) -> int:
        return input + 1

    @app.task(name="renamed", context=True)
    def with_context(ctx: remotetask.JobContext, input: int) -> int:
        return ctx.job_id

    app.register("lambda", lambda input: input)
    assert plain(1) == 2  # the decorator hands the function back unchanged
    assert sorted(app.tasks) == ["lambda", "plain", "renamed"]
    assert app.tasks["renamed"].context is True
    app.close()


def test_duplicate_task_names_are_an_error() -> None:
    app = App("sqlite://")
    app.register("echo", lambda input: input)
    with pytest.raises(remotetask.DuplicateTaskError, match="'echo' is already registered"):
        app.register("echo", lambda input: None)
    app.close()


def test_unknown_service_is_a_clear_error() -> None:
    app = App("sqlite://")
    app.add_service("site1@Known")
    assert [str(s.ref) for s in app.services()] == ["site1@Known"]
    assert app.service("site1@Known") is app.service("site1@Known")
    with pytest.raises(remotetask.UnknownServiceError, match="no service site1@Unknown"):
        app.service("site1@Unknown")
    app.close()


def test_services_are_listed_root_first_then_by_site() -> None:
    app = App("sqlite://")
    for ref in ("b@Two", "@Root", "a@One", "a@Another"):
        app.add_service(ref)
    assert [str(s.ref) for s in app.services()] == ["@Root", "a@Another", "a@One", "b@Two"]
    app.close()


def test_clean_refuses_statuses_that_are_not_finished() -> None:
    app = App("sqlite://")
    service = app.add_service("s@S")
    for status in ("queued", "processing", "cronjob", "bogus"):
        with pytest.raises(ValueError, match="clean removes only"):
            service.clean([status])
    assert service.clean(["completed"]) == 0
    app.close()


def test_update_cron_job_validates_fields() -> None:
    app = App("sqlite://")
    app.register("echo", lambda input: input)
    service = app.add_service("s@S")
    jobid = service.add_cron_job("echo", minute=(1,))
    with pytest.raises(remotetask.InvalidScheduleError, match="unknown schedule fields: second"):
        service.update_cron_job(jobid, second=(1,))  # type: ignore[call-arg]
    with pytest.raises(remotetask.InvalidScheduleError):
        service.update_cron_job(jobid, minute=(61,))
    schedule = service.update_cron_job(jobid, cron="*/5 * * * *", timezone="Europe/Berlin")
    assert (schedule.cron, schedule.timezone, schedule.minute) == (
        "*/5 * * * *",
        "Europe/Berlin",
        (),
    )
    plain = service.add("echo")
    with pytest.raises(remotetask.InvalidStatusError):
        service.update_cron_job(plain, minute=(2,))
    with pytest.raises(remotetask.JobNotFoundError):
        service.update_cron_job(999, minute=(2,))
    app.close()


def test_update_cron_job_replaces_the_whole_schedule_as_the_original() -> None:
    """Porting `job.update(minute=(5,)); service.reschedule(id)`: the old hour is gone."""
    app = App("sqlite://")
    app.register("echo", lambda input: input)
    service = app.add_service("s@S")
    jobid = service.add_cron_job("echo", "x", minute=(10,), hour=(4,))
    service.process(0)
    assert service.update_cron_job(jobid, minute=(5,)) == remotetask.Schedule(minute=(5,))
    assert service.jobs[jobid].schedule == remotetask.Schedule(minute=(5,))
    assert service.process(60) == 0  # the next pass gives it its time: 00:05, not 04:05
    assert service.process(5 * 60) == 1
    assert service.process(65 * 60) == 1  # and every hour
    changed = service.change_cron_job(jobid, hour=(4,))  # a partial change keeps the minute
    assert changed == remotetask.Schedule(minute=(5,), hour=(4,))
    with pytest.raises(remotetask.InvalidScheduleError, match="unknown schedule fields: second"):
        service.change_cron_job(jobid, second=(1,))  # type: ignore[call-arg]
    app.close()


def test_a_crontab_job_in_a_timezone_can_move_to_field_sets() -> None:
    app = App("sqlite://")
    app.register("echo", lambda input: input)
    service = app.add_service("s@S")
    jobid = service.add_cron_job("echo", cron="0 3 * * *", timezone="Europe/Berlin")
    schedule = service.update_cron_job(jobid, minute=(5,))
    assert (schedule.cron, schedule.timezone, schedule.minute) == (None, "UTC", (5,))
    app.close()
