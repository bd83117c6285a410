"""Background processing: simple and multi processors, wake-ups, stops and leases."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import remotetask
from remotetask import App, MultiProcessor, Settings, SimpleProcessor, TaskService
from remotetask.processing import Processor, _Running
from remotetask.retry import RetryPolicy
from remotetask.store import Claim
from tests.integration.helpers import busy
from tests.waiting import wait_until


def test_simple_processor_runs_one_job_at_a_time_in_order(app: App, service: TaskService) -> None:
    order: list[int] = []
    active = []
    overlap = []

    @app.task
    def record(input: int) -> int:
        active.append(input)
        overlap.append(len(active))
        time.sleep(0.002)
        order.append(input)
        active.remove(input)
        return input

    ids = [service.add("record", n) for n in range(20)]
    service.start_processing(SimpleProcessor())
    wait_until(lambda: all(service.status(j) == "completed" for j in ids))
    service.stop_processing(wait=True)
    assert order == list(range(20))
    assert max(overlap) == 1


def test_multi_processor_runs_up_to_max_threads_at_once(app: App, service: TaskService) -> None:
    running = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    @app.task
    def hold(input: object) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(10)
        with lock:
            running -= 1

    ids = [service.add("hold") for _ in range(8)]
    service.start_processing(MultiProcessor(max_threads=3))
    wait_until(lambda: peak == 3, what="three jobs running at once")
    assert service.counts().get(remotetask.PROCESSING) == 3
    release.set()
    wait_until(lambda: all(service.status(j) == "completed" for j in ids))
    service.stop_processing(wait=True)
    assert peak == 3


def overlap_share(app: App, service: TaskService, work: Callable[[], None]) -> float:
    """Run 150 jobs doing ``work`` on two threads: the share of runs (from the 20th on,
    past the start) that shared their time with another run."""
    active: set[int] = set()
    overlapped: set[int] = set()
    lock = threading.Lock()

    def run(n: int) -> None:
        with lock:
            active.add(n)
            if len(active) > 1:
                overlapped.update(active)
        try:
            work()
        finally:
            with lock:
                active.discard(n)

    app.register("work", run)
    ids = service.add_many("work", range(150))
    service.start_processing(MultiProcessor(max_threads=2))
    wait_until(lambda: service.counts().get(remotetask.COMPLETED) == len(ids), timeout=60)
    service.stop_processing(wait=True)
    return len({n for n in overlapped if n >= 20}) / 130


@pytest.fixture
def quick_switches() -> Iterator[None]:
    """Threads take turns every 1 ms (not 5), so two threads with work interleave their runs."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("quick_switches")
def test_short_runs_on_the_cpu_go_through_one_thread(app: App, service: TaskService) -> None:
    """A second thread would only take turns with the first (one runs Python at a time)."""
    # 0.74-1.0 when both threads took every run they could
    assert overlap_share(app, service, lambda: busy(0.001)) < 0.4


@pytest.mark.usefixtures("quick_switches")
def test_short_runs_that_wait_share_the_threads(app: App, service: TaskService) -> None:
    assert overlap_share(app, service, lambda: time.sleep(0.002)) > 0.8


def test_one_thread_is_sent_to_short_runs_on_the_cpu_before_it_starts(
    file_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processing thread's next pass came before the thread it had just sent to the
    claimed jobs counted as working through them, saw room for one more and sent a second
    (after most commits of a drain, where two threads then took turns)."""
    app = App(file_url, settings=Settings(wait_time=30.0))
    app.register("cpu", lambda _input: busy(0.0005))  # short, on the CPU
    service = app.add_service("site1@OneThread")
    processors: list[Processor] = []
    sent: list[int] = []
    returned: list[int] = []
    let_go = threading.Event()
    work_through_queue = Processor._work_through_queue

    def held_at_start(processor: Processor, claim: Claim, now: float) -> None:
        processors.append(processor)
        sent.append(claim.job.id)
        let_go.wait(30)  # a thread slow to start (a new one, a busy CPU)
        work_through_queue(processor, claim, now)
        returned.append(claim.job.id)

    monkeypatch.setattr(Processor, "_work_through_queue", held_at_start)
    try:
        let_go.set()
        service.start_processing(MultiProcessor(2))
        for _ in range(20):  # until the processor has seen that its runs are short, on the CPU
            first = service.add("cpu", None)
            wait_until(lambda: service.status(first) == "completed")  # noqa: B023
            wait_until(lambda: len(returned) == len(sent))
            if processors[-1]._on_cpu:
                break
        assert processors[-1]._on_cpu, "every warm-up run was kept off the CPU"
        let_go.clear()
        sent.clear()
        ids = service.add_many("cpu", range(40))
        wait_until(lambda: len(sent) >= 1)
        time.sleep(0.1)  # passes enough to send a second thread, had it room for one
        assert sent == ids[:1]
    finally:
        let_go.set()
        service.stop_processing(wait=True)
        app.close()


def test_a_run_turning_long_brings_the_other_threads_in(app: App, service: TaskService) -> None:
    """Short runs on the CPU go through one thread, until one of them does not end."""
    release = threading.Event()
    done_after: list[int] = []

    @app.task
    def step(input: int) -> None:
        if input == 30:
            release.wait(30)
        elif input > 30 and not release.is_set():
            done_after.append(input)

    ids = service.add_many("step", range(60))
    service.start_processing(MultiProcessor(max_threads=2))
    try:
        wait_until(lambda: len(done_after) == 29, what="the jobs after the stuck one")
    finally:
        release.set()
    wait_until(lambda: service.counts().get(remotetask.COMPLETED) == len(ids))
    service.stop_processing(wait=True)


def test_multi_processor_defaults_to_five_threads() -> None:
    assert MultiProcessor().max_threads == 5
    assert SimpleProcessor().max_threads == 1


def test_an_idle_service_wakes_on_add_without_waiting_for_the_poll(file_url: str) -> None:
    app = App(file_url, settings=Settings(wait_time=30.0))
    app.register("echo", lambda input: input)
    service = app.add_service("site1@Svc")
    service.start_processing()
    time.sleep(0.05)  # let the thread go idle on its 30 s wait
    started = time.monotonic()
    jobid = service.add("echo", 1)
    wait_until(lambda: service.status(jobid) == "completed", timeout=5)
    assert time.monotonic() - started < 5  # far below the 30 s poll interval
    app.close()


@pytest.mark.parametrize("kind", [SimpleProcessor(), MultiProcessor(2)], ids=["simple", "multi"])
def test_an_idle_queue_is_claimed_from_once_per_added_job(
    database_url: str, kind: SimpleProcessor | MultiProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim that finds the queue empty is not followed by more until a job is added:
    each job added to an idle queue brought three (one thread) or four (two threads)
    claims, the processing thread's extra ones racing the run's commit for the write
    lock, and one in the commit itself (``_claim`` counts both kinds). On PostgreSQL the
    process also heard its own NOTIFY of each add, a second wake-up and one more claim."""
    app = App(database_url, settings=Settings(wait_time=30.0, auto_migrate=True))
    app.register("echo", lambda input: input)
    service = app.add_service("site1@ClaimCount")
    store_type = type(app.store)
    claims: list[int] = []

    def counting_claim(store: object, *args: object, **kwargs: object) -> object:
        claims.append(1)
        return original(store, *args, **kwargs)

    original = store_type._claim
    monkeypatch.setattr(store_type, "_claim", counting_claim)
    service.start_processing(kind)
    time.sleep(0.05)  # idle on its 30 s wait: the first claim found nothing
    claims.clear()
    for n in range(20):
        job_id = service.add("echo", n)
        wait_until(lambda: service.status(job_id) == "completed")  # noqa: B023
        time.sleep(0.005)  # the run's commit and what follows it are over
    service.stop_processing(wait=True)
    app.close()
    assert 20 <= len(claims) <= 22


def test_stop_processing_takes_effect_promptly(file_url: str) -> None:
    app = App(file_url, settings=Settings(wait_time=30.0))
    service = app.add_service("site1@Svc")
    service.start_processing()
    time.sleep(0.05)
    started = time.monotonic()
    service.stop_processing(wait=True)
    assert not service.is_processing()
    assert time.monotonic() - started < 5
    assert not [t for t in threading.enumerate() if t.name == "remotetasks.site1.Svc"]
    app.close()


def test_stop_gives_back_jobs_that_outlive_the_grace_period(file_url: str) -> None:
    app = App(file_url)
    release = threading.Event()
    app.register("hold", lambda input: release.wait(10))
    service = app.add_service("site1@Svc")
    jobid = service.add("hold")
    service.start_processing()
    wait_until(lambda: service.status(jobid) == "processing")
    service.stop_processing(grace=0.1, wait=True)
    job = service.jobs[jobid]
    assert job.status == "queued"
    assert job.attempts == 0  # giving back is not a failed attempt
    release.set()
    app.close()


def test_a_run_that_ends_during_a_stop_claims_no_next_job(file_url: str) -> None:
    app = App(file_url)
    release = threading.Event()
    app.register("hold", lambda input: release.wait(10))
    service = app.add_service("site1@Svc")
    first = service.add("hold")
    second = service.add("hold")
    service.start_processing()
    wait_until(lambda: service.status(first) == "processing")
    service.stop_processing(grace=10)
    release.set()
    service.stop_processing(wait=True)
    assert service.status(first) == "completed"
    assert service.jobs[second].status == "queued"
    assert service.jobs[second].attempts == 0
    app.close()


def test_stop_gives_back_jobs_claimed_ahead_and_not_started(file_url: str) -> None:
    app = App(file_url)
    release = threading.Event()
    app.register("quick", lambda input: None)
    app.register("hold", lambda input: release.wait(10))
    service = app.add_service("site1@Svc")
    quick = service.add("quick")  # a short run makes the processor claim ahead
    held = [service.add("hold") for _ in range(6)]
    service.start_processing(SimpleProcessor())
    wait_until(lambda: service.status(held[0]) == "processing")
    wait_until(lambda: service.counts().get(remotetask.PROCESSING) == len(held))
    service.stop_processing(grace=0.1, wait=True)
    release.set()
    assert service.status(quick) == "completed"
    assert [(service.jobs[j].status, service.jobs[j].attempts) for j in held] == [
        ("queued", 0)
    ] * len(held)
    app.close()


def test_a_job_claimed_ahead_then_taken_back_is_not_started(
    app: App, service: TaskService, clock: remotetask.FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[tuple[int, int]] = []
    release = threading.Event()

    @app.task(name="note", context=True, retry=RetryPolicy(max_attempts=3))
    def note(ctx: remotetask.JobContext, input: object) -> None:
        runs.append((ctx.job_id, ctx.attempt))

    app.register("hold", lambda input: release.wait(10))
    service.add("note")  # a short run makes the processor claim ahead
    held = service.add("hold")
    ahead = [service.add("note") for _ in range(3)]
    service.start_processing(SimpleProcessor())
    wait_until(lambda: service.counts().get(remotetask.PROCESSING) == 1 + len(ahead))
    # Another process's rescuer, as it would act once this one looked frozen past its
    # lease (the clock stays put meanwhile, so no renewal here can race the rescue).
    later = clock.now() + app.settings.lease_seconds + 1
    taken = service.store.expired_claims(service.ref, later)
    assert len(taken) == 1 + len(ahead)
    for claim in taken:
        assert service.runner.give_up(claim, "taken back", later, expired_only=True)
    clock.advance(app.settings.lease_seconds / 3)  # this process's next renewal learns of it
    wait_until(lambda: caplog.text.count("not started here") >= len(ahead))
    clock.set(later)  # the jobs taken back are due again
    release.set()
    wait_until(lambda: all(service.status(j) == "completed" for j in ahead))
    service.stop_processing(wait=True)
    assert sorted(a for j, a in runs if j in ahead) == [2] * len(ahead)
    assert service.status(held) != "processing"


def test_a_job_taken_back_as_its_thread_takes_it_up_is_not_started(
    app: App,
    service: TaskService,
    clock: remotetask.FrozenClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rescue may land, and this process's renewal learn of it, between a worker
    thread taking up a claimed job and marking it running: the job must not start here,
    beside its rescuer's run (it once did)."""
    runs: list[tuple[int, int]] = []

    @app.task(name="note", context=True, retry=RetryPolicy(max_attempts=3))
    def note(ctx: remotetask.JobContext, input: object) -> None:
        runs.append((ctx.job_id, ctx.attempt))

    service.add("note")  # a short run makes the processor claim ahead
    target = service.add("note")
    later = clock.now() + app.settings.lease_seconds + 1
    track, taken = Processor._track, threading.Event()

    def taken_back_just_before(self: Processor, key: str, running: _Running) -> bool:
        if running.job_id == target and not taken.is_set():
            taken.set()
            expired = service.store.expired_claims(service.ref, later)
            (claim,) = [c for c in expired if c.job.id == target]
            assert service.runner.give_up(claim, "taken back", later, expired_only=True)
            self._renew(clock.now())  # this process's renewal learns of it
        return track(self, key, running)

    monkeypatch.setattr(Processor, "_track", taken_back_just_before)
    service.start_processing(SimpleProcessor())
    wait_until(lambda: "not started here" in caplog.text or runs.count((target, 1)) > 0)
    clock.set(later + 60)  # the job taken back is due again
    service._wake()
    wait_until(lambda: service.status(target) == "completed")
    service.stop_processing(wait=True)
    assert [a for j, a in runs if j == target] == [2]


def test_after_a_freeze_past_the_lease_no_job_claimed_ahead_starts_before_a_renewal(
    app: App, service: TaskService, clock: remotetask.FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A process frozen past its lease wakes up holding jobs claimed ahead, some of them
    taken back meanwhile: a worker thread must not start one before a renewal has said
    which (it once went straight on to the next claimed job)."""
    runs: list[tuple[int, int]] = []
    later = clock.now() + app.settings.lease_seconds + 1
    target: list[int] = []

    @app.task(name="note", context=True, retry=RetryPolicy(max_attempts=3))
    def note(ctx: remotetask.JobContext, input: object) -> None:
        runs.append((ctx.job_id, ctx.attempt))
        if input == "freeze" and ctx.attempt == 1:
            # As if this process froze here past its lease: another one takes back the
            # job claimed ahead behind this one.
            expired = service.store.expired_claims(service.ref, later)
            (claim,) = [c for c in expired if c.job.id == target[0]]
            assert service.runner.give_up(claim, "taken back", later, expired_only=True)
            clock.set(later)

    service.add("note")  # a short run makes the processor claim ahead
    service.add("note", "freeze")
    target.append(service.add("note"))
    service.start_processing(SimpleProcessor())
    wait_until(lambda: service.status(target[0]) == "completed")
    service.stop_processing(wait=True)
    assert [a for j, a in runs if j == target[0]] == [2]
    assert "not started here" in caplog.text


def test_a_job_given_back_at_shutdown_before_its_thread_started_it_does_not_start(
    app: App,
    service: TaskService,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stop whose grace has run out gives back the jobs it holds, among them one sent to
    a worker thread that has not started it yet: that thread must not start it, for the
    job is queued again for any worker (it once did)."""
    runs: list[int] = []
    app.register("note", runs.append)
    target = service.add("note", 1)
    track, entered = Processor._track, threading.Event()

    def given_back_just_before(self: Processor, key: str, running: _Running) -> bool:
        if running.job_id == target:
            entered.set()
            wait_until(lambda: service.status(target) == "queued")  # given back by the stop
        return track(self, key, running)

    monkeypatch.setattr(Processor, "_track", given_back_just_before)
    service.start_processing(SimpleProcessor())
    assert entered.wait(10)
    service.stop_processing(grace=0, wait=True)
    wait_until(lambda: "not started here" in caplog.text or runs != [])
    assert runs == []
    assert (service.status(target), service.job(target).attempts) == ("queued", 0)


def _most_failed_passes(seconds: float, wait_time: float) -> int:
    """Failed passes in ``seconds`` from the first, retried after 0.05, 0.1, 0.2, 0.4 and
    0.8 s, then every ``wait_time`` (1 s); one more for a pass under way at the end."""
    waits, passes, elapsed = [0.05, 0.1, 0.2, 0.4, 0.8], 1, 0.0
    while elapsed <= seconds:
        elapsed += waits.pop(0) if waits else wait_time
        passes += 1
    return passes


def test_passes_that_keep_failing_are_retried_ever_more_slowly_and_logged_in_a_line(
    app: App, service: TaskService, clock: remotetask.FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that fails at once (here its jobs table is renamed away) must not be asked
    again every millisecond, with a traceback logged each time: it once was, from the
    moment the failing pass was one that looks at schedules."""
    service.start_processing()
    first = service.add("echo", 1)
    wait_until(lambda: service.status(first) == "completed")
    with service.store._tx(write=True) as cur:
        cur.execute("ALTER TABLE jobs RENAME TO jobs_away")
    clock.advance(app.settings.wait_time + 1)  # schedules are due a look
    started = time.monotonic()
    service._wake()
    time.sleep(2.0)
    took = time.monotonic() - started
    with service.store._tx(write=True) as cur:
        cur.execute("ALTER TABLE jobs_away RENAME TO jobs")
    failed = [r for r in caplog.records if _is_failed_pass(r)]
    assert 2 <= len(failed) <= _most_failed_passes(took, app.settings.wait_time)
    assert sum(r.exc_info is not None for r in failed) == 1  # the first one's traceback
    later = service.add("echo", 2)
    wait_until(lambda: service.status(later) == "completed")
    assert "succeeded again after" in caplog.text


@contextlib.contextmanager
def _updates_of_jobs_refused(service: TaskService, database_url: str) -> Iterator[None]:
    """A real store failure for claims, renewals and finishes, not for adds: a trigger
    that refuses every update of ``jobs``."""
    if database_url.startswith("postgresql"):
        create = [
            "CREATE FUNCTION refuse_updates() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'updates refused'; END $$",
            "CREATE TRIGGER refuse_updates BEFORE UPDATE ON jobs"
            " FOR EACH STATEMENT EXECUTE FUNCTION refuse_updates()",
        ]
        drop = "DROP TRIGGER refuse_updates ON jobs"
    else:
        create = [
            "CREATE TRIGGER refuse_updates BEFORE UPDATE ON jobs"
            " BEGIN SELECT RAISE(ABORT, 'updates refused'); END"
        ]
        drop = "DROP TRIGGER refuse_updates"
    with service.store._tx(write=True) as cur:
        for statement in create:
            cur.execute(statement)
    try:
        yield
    finally:
        with service.store._tx(write=True) as cur:
            cur.execute(drop)


def test_passes_that_keep_failing_are_not_retried_at_each_wake_up(
    app: App, service: TaskService, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Jobs added while claims fail each wake the processing thread: the retries must
    keep their pace all the same (each wake-up once cut the wait short, a failed pass and
    a log line per job added), and the jobs run once the store is back, with no other
    wake-up (a failed claim once marked the queue empty)."""
    service.start_processing()
    first = service.add("echo", 1)
    wait_until(lambda: service.status(first) == "completed")
    with _updates_of_jobs_refused(service, database_url):
        started = time.monotonic()
        for n in range(200):  # about 1 s of jobs added, each a wake-up, each claim refused
            service.add("echo", n)
            time.sleep(0.005)
        added = _failed_passes(caplog)
        wait_until(lambda: _failed_passes(caplog) > added)  # a claim refused after the last add
        took = time.monotonic() - started
    assert 2 <= _failed_passes(caplog) <= _most_failed_passes(took, app.settings.wait_time)
    wait_until(lambda: service.counts().get("completed") == 201)


def _failed_passes(caplog: pytest.LogCaptureFixture) -> int:
    return sum(_is_failed_pass(r) for r in caplog.records)


def _is_failed_pass(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return "processing pass of" in message and " failed" in message


def test_a_failing_heartbeat_does_not_keep_jobs_from_starting(
    app: App, service: TaskService, clock: remotetask.FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Housekeeping that jobs need not wait for (the heartbeat, here its table renamed
    away) may fail: jobs still start (a failed heartbeat once failed the whole pass, and
    nothing was claimed until it succeeded)."""
    service.start_processing()
    with service.store._tx(write=True) as cur:
        cur.execute("ALTER TABLE workers RENAME TO workers_away")
    try:
        clock.advance(app.settings.lease_seconds / 3 + 1)  # a renewal and its heartbeat are due
        jobs = [service.add("echo", n) for n in range(20)]
        wait_until(lambda: all(service.status(j) == "completed" for j in jobs))
        wait_until(lambda: "heartbeat of" in caplog.text)
    finally:
        with service.store._tx(write=True) as cur:
            cur.execute("ALTER TABLE workers_away RENAME TO workers")


def test_observers_hear_of_a_run_only_once_it_is_stored(file_url: str) -> None:
    app = App(file_url)
    app.register("quick", lambda input: input)
    service = app.add_service("site1@Svc")
    seen: list[str] = []

    class Check:
        def job_submitted(self, ref: object, tasks: list[str]) -> None:
            pass

        def job_finished(self, ref: object, job: remotetask.Job, out: object, at: float) -> None:
            seen.append(service.status(job.id))

    app.observers.append(Check())
    ids = service.add_many("quick", range(200))
    service.start_processing(MultiProcessor(max_threads=4))
    wait_until(lambda: len(seen) == len(ids))
    service.stop_processing(wait=True)
    assert set(seen) == {"completed"}
    app.close()


def test_a_job_whose_worker_vanished_is_retried_then_failed(
    app: App, service: TaskService, clock: remotetask.FrozenClock
) -> None:
    jobid = service.add("echo", 1)
    lease = app.settings.lease_seconds
    for attempt in range(1, 5):
        claims = app.store.claim(service.ref, clock.now(), 1, "dead-worker", clock.now() + lease)
        assert [c.job.id for c in claims] == [jobid]
        assert claims[0].job.attempts == attempt
        assert service.runner.recover_expired(clock.now()) == 0  # lease still valid
        clock.advance(lease + 1)
        assert service.runner.recover_expired(clock.now()) == 1
    job = service.jobs[jobid]
    assert job.status == "error"
    assert job.attempts == 4
    assert "lease expired" in (job.error or "")


def test_cooperative_cancel_of_a_running_job(app: App, service: TaskService) -> None:
    @app.task(context=True)
    def patient(ctx: remotetask.JobContext, input: object) -> str:
        ctx.report_progress(0.5, "half way")
        deadline = time.monotonic() + 10
        while not ctx.cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        return "stopped"

    jobid = service.add("patient")
    service.start_processing()
    wait_until(lambda: service.jobs[jobid].progress == 0.5)
    job = service.jobs[jobid]
    assert (job.status, job.progress_message) == ("processing", "half way")
    assert service.cancel(jobid) is True
    wait_until(lambda: service.status(jobid) == "cancelled")
    service.stop_processing(wait=True)


def test_cancel_of_a_finished_job_is_refused(service: TaskService) -> None:
    jobid = service.add("echo", 1)
    service.process()
    assert service.cancel(jobid) is False
    assert service.status(jobid) == "completed"


def test_start_later_job_waits_for_start_job(service: TaskService) -> None:
    jobid = service.add("echo", "later", start_later=True)
    assert service.status(jobid) == "start later"
    assert service.process() == 0
    assert service.start_job(jobid) is True
    assert service.start_job(jobid) is False
    assert service.process() == 1
    assert service.result(jobid) == "later"


def test_start_later_job_can_be_cancelled(service: TaskService) -> None:
    jobid = service.add("echo", start_later=True)
    assert service.cancel(jobid) is True
    assert service.start_job(jobid) is False
    assert service.status(jobid) == "cancelled"


def test_cron_and_delayed_jobs_can_be_cancelled(service: TaskService) -> None:
    cron = service.add_cron_job("counter", minute=(5,))
    delayed = service.add_cron_job("counter", delay=5)
    service.process(0)
    assert service.cancel(cron) is True
    assert service.cancel(delayed) is True
    assert service.process(3600) == 0
    assert service.status(cron) == service.status(delayed) == "cancelled"


def test_has_jobs_waiting_follows_due_times(service: TaskService) -> None:
    assert service.has_jobs_waiting(0) is False
    service.add_cron_job("counter", delay=10)
    assert service.has_jobs_waiting(0) is False
    assert service.has_jobs_waiting(10) is True
    service.process(10)
    assert service.has_jobs_waiting(10) is False
    service.add("echo")
    assert service.has_jobs_waiting(10) is True


def test_process_next_runs_exactly_one_job(service: TaskService) -> None:
    first, second = service.add("echo", 1), service.add("echo", 2)
    assert service.process_next() is True
    assert (service.status(first), service.status(second)) == ("completed", "queued")
    assert service.process_next() is True
    assert service.process_next() is False


def test_a_failing_cron_firing_is_recorded_and_the_job_keeps_its_schedule(
    app: App, service: TaskService
) -> None:
    @app.task
    def unlucky(input: object) -> None:
        raise remotetask.TaskError("no luck")

    jobid = service.add_cron_job("unlucky", minute=(0,))
    service.process(0)
    service.process(3600)
    job = service.jobs[jobid]
    assert (job.status, job.error, job.next_call) == ("cronjob", "no luck", 7200)
    [run] = service.cron_runs(jobid)
    assert (run.scheduled_for, run.error) == (3600, "no luck")
