"""``async def`` tasks on every backend: the verbs of a plain task, on a loop of their own."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import pytest

import remotetask
from remotetask import App, MultiProcessor, RetryPolicy, TaskService
from tests.waiting import wait_until


@dataclass
class Seen:
    """What the async tasks noticed while they ran."""

    cancelled: list[int] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    loops: set[int] = field(default_factory=set)
    started: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def seen() -> Seen:
    return Seen()


def register_slow(app: App, seen: Seen, max_attempts: int) -> None:
    """``slow``: sleeps an hour unless cancelled (noting its input), with a 0.2 s timeout."""

    @app.task(timeout=0.2, retry=RetryPolicy(max_attempts=max_attempts))
    async def slow(input: int) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.cancelled.append(input)
            raise


def test_result_progress_and_context(app: App, service: TaskService) -> None:
    @app.task(context=True)
    async def steps(ctx: remotetask.JobContext, input: int) -> dict[str, int]:
        for step in range(1, input + 1):
            await asyncio.sleep(0)
            ctx.report_progress(step / input, f"step {step}")
        return {"steps": input, "attempts": ctx.attempts}

    job_id = service.add("steps", 4)
    assert service.process() == 1
    job = service.job(job_id)
    assert job.status == remotetask.COMPLETED
    assert job.result == {"steps": 4, "attempts": 1}
    assert (job.progress, job.progress_message) == (1.0, "step 4")


def test_failures_are_retried_by_policy_and_task_errors_are_not(
    app: App, service: TaskService
) -> None:
    tries: list[int] = []

    @app.task(context=True, retry=RetryPolicy(max_attempts=3))
    async def flaky(ctx: remotetask.JobContext, input: object) -> int:
        tries.append(ctx.attempts)
        await asyncio.sleep(0)
        if ctx.attempts < 3:
            raise ConnectionError("try again")
        return ctx.attempts

    @app.task
    async def refuse(input: object) -> None:
        raise remotetask.TaskError("no, never")

    retried = service.add("flaky")
    refused = service.add("refuse")
    service.process()
    assert tries == [1, 2, 3]
    assert service.result(retried) == 3
    assert service.job(retried).attempts == 3
    job = service.job(refused)
    assert (job.status, job.error, job.attempts) == (remotetask.ERROR, "no, never", 1)


def test_a_cancel_request_cancels_the_running_coroutine(
    app: App, service: TaskService, seen: Seen
) -> None:
    @app.task
    async def forever(input: int) -> None:
        seen.started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.cancelled.append(input)
            raise

    job_id = service.add("forever", 7)
    service.start_processing()
    try:
        assert seen.started.wait(10)
        assert service.cancel(job_id) is True
        wait_until(lambda: service.status(job_id) == remotetask.CANCELLED, what="cancelled")
    finally:
        service.stop_processing(wait=True)
    assert seen.cancelled == [7]
    job = service.job(job_id)
    assert job.error == "cancelled while running"
    assert job.attempts == 1


def test_a_timeout_cancels_the_coroutine_and_counts_as_a_failed_attempt(
    app: App, service: TaskService, seen: Seen
) -> None:
    register_slow(app, seen, max_attempts=2)
    job_id = service.add("slow", 1)
    assert service.process() == 2  # the first run times out, its retry too
    assert seen.cancelled == [1, 1]
    job = service.job(job_id)
    assert job.status == remotetask.ERROR
    assert (job.error, job.error_type) == ("timed out after 0.2 s", "TimeoutError")
    assert job.attempts == 2


def test_a_timeout_in_background_processing_cancels_the_coroutine(
    app: App, service: TaskService, seen: Seen
) -> None:
    register_slow(app, seen, max_attempts=1)
    job_id = service.add("slow", 3)
    service.start_processing()
    try:
        wait_until(lambda: seen.cancelled == [3], what="the coroutine cancelled")
        wait_until(lambda: service.status(job_id) == remotetask.ERROR, what="failed")
    finally:
        service.stop_processing(wait=True)
    # Whichever noticed first, the coroutine's own timeout or the processing thread's check,
    # the message is the same.
    assert service.error(job_id) == "timed out after 0.2 s"


def test_sync_and_async_tasks_mix_each_async_run_on_a_loop_of_its_own(
    app: App, service: TaskService, seen: Seen
) -> None:
    both = threading.Barrier(2, timeout=10)

    @app.task
    async def meet(input: int) -> int:
        seen.threads.append(threading.current_thread().name)
        seen.loops.add(id(asyncio.get_running_loop()))
        await asyncio.to_thread(both.wait)  # returns only once both async jobs run at once
        return input * 2

    @app.task
    def plain(input: int) -> int:
        return input + 1

    ids = [service.add("meet", 1), service.add("plain", 1), service.add("meet", 2)]
    service.start_processing(MultiProcessor(max_threads=3))
    try:
        wait_until(lambda: all(service.status(j) == remotetask.COMPLETED for j in ids))
    finally:
        service.stop_processing(wait=True)
    assert [service.result(j) for j in ids] == [2, 2, 4]
    assert len(seen.loops) == 2
    assert len(set(seen.threads)) == 2
    assert all(name.startswith("remotetask-worker") for name in seen.threads)


def test_cron_firings_of_an_async_task(app: App, service: TaskService) -> None:
    @app.task
    async def tick(input: str) -> str:
        await asyncio.sleep(0)
        return input.upper()

    job_id = service.add_cron_job("tick", "tock", minute=[0])
    now = app.clock.now()
    service.process(now)  # schedules it
    due = service.job(job_id).next_call
    assert due is not None
    assert service.process(due) == 1
    assert [run.result for run in service.cron_runs(job_id)] == ["TOCK"]


def test_process_from_inside_a_running_event_loop(app: App, service: TaskService) -> None:
    """A notebook or an async test already runs a loop: the job gets another, in a helper."""

    @app.task
    async def inner(input: int) -> int:
        await asyncio.sleep(0)
        return input + 1

    job_id = service.add("inner", 41)

    async def caller() -> int:
        return service.process()

    assert asyncio.run(caller()) == 1
    assert service.result(job_id) == 42
