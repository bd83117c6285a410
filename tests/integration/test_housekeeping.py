"""What the processing loop does besides running jobs, on every backend.

Worker records and heartbeats, task timeouts, cooperative cancellation,
retention, and (PostgreSQL) wake-ups through LISTEN/NOTIFY.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import remotetask
from remotetask import App, FrozenClock, Settings, TaskService, processing
from remotetask.clock import Clock
from remotetask.jobs import CANCELLED, COMPLETED, ERROR, PROCESSING, QUEUED
from remotetask.retry import RetryPolicy
from remotetask.settings import MultiProcessor
from tests.integration.helpers import busy
from tests.waiting import wait_until


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[..., App]]:
    """Apps on the test's database with chosen settings; all closed at the end."""
    apps: list[App] = []

    def make(clock: Clock | None = None, **settings: object) -> App:
        app = App(database_url, clock=clock, settings=Settings(auto_migrate=True, **settings))  # type: ignore[arg-type]
        apps.append(app)
        return app

    yield make
    for app in reversed(apps):
        app.close()


def test_worker_is_recorded_heartbeats_and_is_removed(make_app: Callable[..., App]) -> None:
    clock = FrozenClock(1000.0)
    app = make_app(clock, lease_seconds=3.0)
    service = app.add_service("site1@S")
    service.start_processing()
    (worker,) = app.store.workers()
    assert (worker.name, worker.services, worker.last_heartbeat) == (
        app.worker_name,
        ("site1@S",),
        1000.0,
    )
    clock.advance(5)
    service._wake()
    wait_until(lambda: app.store.workers()[0].last_heartbeat == 1005.0)
    app.stop()
    assert app.store.workers() == []


def test_a_job_past_its_timeout_fails_frees_its_slot_and_its_late_result_is_refused(
    make_app: Callable[..., App], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="remotetask")
    clock = FrozenClock(1000.0)
    app = make_app(clock)
    release = threading.Event()

    @app.task(timeout=5, retry=RetryPolicy(max_retries=0))
    def slow(_input: object) -> str:
        release.wait(30)
        return "late"

    app.register("echo", lambda value: value)
    service = app.add_service("site1@S")
    job_id = service.add("slow")
    service.start_processing()
    wait_until(lambda: service.status(job_id) == PROCESSING)
    clock.advance(6)
    service._wake()
    wait_until(lambda: service.status(job_id) == ERROR)
    assert service.error(job_id) == "timed out after 5 s"
    # One worker thread (the default): the timed-out thread hangs on, yet its slot is free.
    after = service.add("echo", 1)
    wait_until(lambda: service.status(after) == COMPLETED)
    release.set()
    wait_until(lambda: "result discarded" in caplog.text)
    job = service.job(job_id)
    assert (job.status, job.result, job.attempts) == (ERROR, None, 1)


def _hanging_and_echo(app: App, release: threading.Event) -> TaskService:
    """``app``'s service site1@S, with ``echo`` and ``hang``: a task that waits for
    ``release``, times out after 5 s and is not retried."""

    @app.task(timeout=5, retry=RetryPolicy(max_attempts=1))
    def hang(_input: object) -> None:
        release.wait(30)

    app.register("echo", lambda value: value)
    return app.add_service("site1@S")


class _TimeOutOnceNoted(FrozenClock):
    """A clock that jumps past a run's timeout when a worker thread first reads it after
    the run's deadline was noted, and lets the processing thread act on that before the
    worker thread goes on: the timeout falls at the earliest moment it can."""

    def __init__(self, start: float, jump: float) -> None:
        super().__init__(start)
        self._jump = jump
        self._jumped = threading.Event()
        self.service: TaskService | None = None

    def _deadlines(self) -> dict[str, object]:
        processor = None if self.service is None else self.service._processor
        return {} if processor is None else dict(processor._deadlines)

    def done_with_the_timeout(self) -> bool:
        """The clock jumped and the processing thread dropped the deadline: it drops it
        after freeing the run's slot, or after finding nothing to free."""
        return self._jumped.is_set() and not self._deadlines()

    def now(self) -> float:
        worker = threading.current_thread().name.startswith("remotetask-worker-")
        if worker and not self._jumped.is_set() and self._deadlines():
            self._jumped.set()
            self.advance(self._jump)
            deadline = time.monotonic() + 10
            while not self.done_with_the_timeout() and time.monotonic() < deadline:
                time.sleep(0.005)
        return super().now()


def test_a_run_timed_out_as_its_thread_starts_still_frees_its_slot(
    make_app: Callable[..., App],
) -> None:
    """The processing thread may time a run out as soon as its deadline is noted, before
    its worker thread has gone on: the slot must be freed all the same (it once stayed
    taken, when the deadline was noted before the run counted as running)."""
    clock = _TimeOutOnceNoted(1000.0, 6)
    release = threading.Event()
    service = clock.service = _hanging_and_echo(make_app(clock), release)
    hung = service.add("hang")
    service.start_processing()
    wait_until(clock.done_with_the_timeout)
    assert service.status(hung) == ERROR
    after = service.add("echo", 1)
    try:
        wait_until(lambda: service.status(after) == COMPLETED)
    finally:
        release.set()


def test_a_run_taken_back_that_hangs_still_frees_its_slot_at_its_timeout(
    make_app: Callable[..., App], caplog: pytest.LogCaptureFixture
) -> None:
    """A run taken back from this process (frozen past its lease, then rescued elsewhere)
    may hang on here: its task's timeout must still free its slot (it once kept it until
    the run returned, for the renewal that learnt of the rescue dropped its deadline)."""
    caplog.set_level(logging.WARNING, logger="remotetask")
    clock = FrozenClock(1000.0)
    app = make_app(clock)
    release = threading.Event()
    service = _hanging_and_echo(app, release)
    hung = service.add("hang")
    service.start_processing()
    wait_until(lambda: service.status(hung) == PROCESSING)
    later = clock.now() + app.settings.lease_seconds + 1  # past the lease and the timeout
    (claim,) = service.store.expired_claims(service.ref, later)
    assert service.runner.give_up(claim, "taken back", later, expired_only=True)
    clock.set(later)  # the next pass renews (and learns of the rescue), then times out
    service._wake()
    after = service.add("echo", 1)  # one worker thread: it runs once the slot is free
    try:
        wait_until(lambda: service.status(after) == COMPLETED)
        assert "lease lost" in caplog.text
        assert "its slot is free" in caplog.text
        assert service.error(hung) == "taken back"
    finally:
        release.set()


def test_a_late_result_does_not_let_a_claim_pass_the_bound_on_jobs_held(
    make_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The late result of a run given up at its timeout is stored with a batch of others,
    but it was no longer held: the claim of that commit must not count it as making room
    (it once did, and each such result let the processor hold one job more than its bound)."""
    clock = FrozenClock(1000.0)
    release = threading.Event()
    service = _hanging_and_echo(make_app(clock), release)
    hung = service.add("hang")
    service.add_many("echo", range(3000))
    most: list[int] = []
    add_claims = processing.Processor._add_claims

    def counted(self: processing.Processor, claims: list[object], asked: int) -> None:
        add_claims(self, claims, asked)  # type: ignore[arg-type]
        most.append(len(self._held))

    monkeypatch.setattr(processing.Processor, "_add_claims", counted)
    service.start_processing()
    wait_until(lambda: service.status(hung) == PROCESSING)
    clock.advance(6)
    service._wake()
    wait_until(lambda: max(most, default=0) > 1)  # timed out, and short runs claim ahead
    release.set()  # its late result joins the next batch
    wait_until(lambda: service.counts().get(COMPLETED) == 3000)
    assert max(most) <= 1 + processing.CLAIM_AHEAD


def test_a_graceful_stop_keeps_renewing_the_leases_of_the_runs_it_waits_for(
    make_app: Callable[..., App],
) -> None:
    """A stop waits for running jobs within its grace period, renewing their leases every
    third of a lease: not only after waiting for each in turn (six runs once went two
    leases unrenewed, free for another process to take back)."""
    app = make_app(lease_seconds=2.4, processor=MultiProcessor(6))
    release, started = threading.Event(), threading.Semaphore(0)

    @app.task()
    def hold(_input: object) -> None:
        started.release()
        release.wait(30)

    service = app.add_service("site1@S")
    for _ in range(6):
        service.add("hold")
    service.start_processing()
    for _ in range(6):
        assert started.acquire(timeout=10)
    stopper = threading.Thread(target=service.stop_processing, kwargs={"grace": 5.0, "wait": True})
    stopper.start()
    lapsed: list[int] = []
    try:
        until = time.monotonic() + 4.0  # the old stop renewed after 6 x 0.8 s
        while time.monotonic() < until and not lapsed:
            lapsed = [c.job.id for c in service.store.expired_claims(service.ref, time.time())]
            time.sleep(0.02)
    finally:
        release.set()
        stopper.join(30)
    assert lapsed == []


def test_two_hung_jobs_leave_a_two_thread_service_running(make_app: Callable[..., App]) -> None:
    clock = FrozenClock(1000.0)
    release = threading.Event()
    service = _hanging_and_echo(make_app(clock, processor=MultiProcessor(2)), release)
    hung = [service.add("hang"), service.add("hang")]
    service.start_processing()
    wait_until(lambda: [service.status(j) for j in hung] == [PROCESSING] * 2)
    clock.advance(6)
    service._wake()
    wait_until(lambda: [service.status(j) for j in hung] == [ERROR] * 2)
    after = [service.add("echo", i) for i in range(3)]
    wait_until(lambda: [service.status(j) for j in after] == [COMPLETED] * 3)
    release.set()


def test_a_thread_abandoned_at_a_timeout_is_not_the_one_running_short_jobs(
    make_app: Callable[..., App],
) -> None:
    """Short runs on the CPU go through one thread (see ``processing``): not through one
    that hangs on after its run timed out, which would hold every later job back."""
    clock = FrozenClock(1000.0)
    app = make_app(clock, processor=MultiProcessor(2))
    release, hanging = threading.Event(), threading.Event()

    @app.task(timeout=5, retry=RetryPolicy(max_attempts=1))
    def hang(_input: object) -> None:
        hanging.set()
        release.wait(30)

    app.register("spin", lambda _input: busy(0.0005))
    service = app.add_service("site1@S")
    warm = service.add_many("spin", range(20))
    hung = service.add("hang")
    service.start_processing()
    wait_until(hanging.is_set)  # started, not only claimed ahead: its deadline is set
    clock.advance(6)
    service._wake()
    wait_until(lambda: service.status(hung) == ERROR)
    after = service.add_many("spin", range(20))
    try:
        wait_until(lambda: [service.status(j) for j in warm + after] == [COMPLETED] * 40)
    finally:
        release.set()


def test_past_the_abandoned_thread_cap_a_timed_out_run_keeps_its_slot(
    make_app: Callable[..., App], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processing, "MAX_ABANDONED_THREADS", 1)
    caplog.set_level(logging.WARNING, logger="remotetask")
    clock = FrozenClock(1000.0)
    app = make_app(clock)
    release = threading.Event()

    @app.task(timeout=5, retry=RetryPolicy(max_attempts=1))
    def hang(_input: object) -> None:
        release.wait(30)

    app.register("echo", lambda value: value)
    service = app.add_service("site1@S")
    first, second = service.add("hang"), service.add("hang")
    service.start_processing()
    for job_id in (first, second):
        wait_until(lambda job_id=job_id: service.status(job_id) == PROCESSING)
        clock.advance(6)
        service._wake()
        wait_until(lambda job_id=job_id: service.status(job_id) == ERROR)
    wait_until(lambda: "timed-out threads still run; this one keeps its slot" in caplog.text)
    after = service.add("echo", 1)
    release.set()
    wait_until(lambda: service.status(after) == COMPLETED)


def test_a_timed_out_job_is_retried_by_its_policy(make_app: Callable[..., App]) -> None:
    clock = FrozenClock(1000.0)
    app = make_app(clock, processor=MultiProcessor(2))
    runs: list[int] = []
    release = threading.Event()

    @app.task(timeout=5, context=True)
    def slow(ctx: remotetask.JobContext, _input: object) -> int:
        runs.append(ctx.attempt)
        if ctx.attempt == 1:
            release.wait(30)
        return ctx.attempt

    service = app.add_service("site1@S")
    job_id = service.add("slow")
    service.start_processing()
    wait_until(lambda: runs == [1])
    clock.advance(6)
    service._wake()
    wait_until(lambda: service.status(job_id) == COMPLETED)
    release.set()
    assert (service.result(job_id), service.job(job_id).attempts) == (2, 2)


def test_cancel_stops_a_cooperative_running_job(make_app: Callable[..., App]) -> None:
    app = make_app()
    started = threading.Event()

    @app.task(context=True)
    def loop(ctx: remotetask.JobContext, _input: object) -> str:
        started.set()
        deadline = time.monotonic() + 30
        while not ctx.cancelled() and time.monotonic() < deadline:
            time.sleep(0.01)
        return "stopped"

    service = app.add_service("site1@S")
    job_id = service.add("loop")
    service.start_processing()
    assert started.wait(10)
    assert service.cancel(job_id) is True
    wait_until(lambda: service.status(job_id) == CANCELLED)


def test_retention_prunes_old_finished_jobs(make_app: Callable[..., App]) -> None:
    clock = FrozenClock(1000.0)
    app = make_app(clock, retention={COMPLETED: 50.0, ERROR: None}, prune_batch=2)
    app.register("echo", lambda value: value)
    app.register("fail", lambda _v: 1 / 0, retry=RetryPolicy(max_retries=0))
    service = app.add_service("site1@S")
    service.add_many("echo", range(5))
    failed = service.add("fail")
    service.process()
    clock.advance(100)
    fresh = service.add("echo", "fresh")
    service.process()
    waiting = service.add("echo", start_later=True)
    service.start_processing()
    wait_until(lambda: len(service.jobs) == 3)
    assert sorted(service.jobs) == [failed, fresh, waiting]
    assert service.status(waiting) == remotetask.START_LATER


def test_an_insert_wakes_an_idle_worker_in_another_app(
    make_app: Callable[..., App], database_url: str
) -> None:
    if database_url == "sqlite://":
        pytest.skip("an in-memory database has no other apps")
    worker = make_app(wait_time=60.0, lease_seconds=600.0)
    worker.register("echo", lambda value: value)
    client = make_app()
    client.register("echo", lambda value: value)
    worker.add_service("site1@S").start_processing()
    listener = worker.store._listener  # type: ignore[attr-defined]
    if database_url.startswith("postgresql"):
        assert listener.connected.wait(10)
    time.sleep(0.2)  # only so the worker is idle: its poll interval is 60 s
    service = client.service("site1@S")
    job_id = service.add("echo", 1)
    started = time.monotonic()
    wait_until(lambda: service.status(job_id) == COMPLETED, timeout=10)
    assert time.monotonic() - started < 5, "woken by the notification, not by polling"
    assert service.status(job_id) != QUEUED


def test_subscribe_delivers_the_service_of_inserted_jobs(
    make_app: Callable[..., App], database_url: str
) -> None:
    listener_app, client = make_app(), make_app()
    client.register("echo", lambda value: value)
    got: list[str] = []
    listener_app.store.subscribe(got.append)
    service = client.add_service("site1@S")
    if database_url == "sqlite://":
        service.add("echo", 1)
        assert got == [], "an in-memory database has no other processes to tell"
        return
    if database_url.startswith("postgresql"):
        assert listener_app.store._listener.connected.wait(10)  # type: ignore[attr-defined]
    service.add_many("echo", [1, 2])
    wait_until(lambda: "site1@S" in got)  # the channel is shared with other test runs


def test_the_listener_reconnects_after_its_connection_is_killed(
    make_app: Callable[..., App], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    import psycopg

    listener_app, client = make_app(), make_app()
    client.register("echo", lambda value: value)
    service = client.add_service("site1@S")
    got: list[str] = []
    listener_app.store.subscribe(got.append)
    listener = listener_app.store._listener  # type: ignore[attr-defined]
    assert listener.connected.wait(10)
    killed = listener.backend_pid
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (killed,))
    wait_until(lambda: listener.reconnects >= 1 and listener.connected.is_set())
    assert listener.backend_pid != killed
    service.add("echo", 1)
    wait_until(lambda: "site1@S" in got)  # the channel is shared with other test runs
