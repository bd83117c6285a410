"""The store contract, run once per backend (SQLite file, SQLite memory, PostgreSQL).

Through ``TaskService`` where a user would see the behaviour, through the store
verbs where the guarantee is the store's own (claims, tokens, leases, cron).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable

import pytest

import remotetask
from remotetask import App, FrozenClock, TaskService
from remotetask.errors import InvalidInputError, InvalidStatusError, SchemaError
from remotetask.jobs import (
    CANCELLED,
    COMPLETED,
    ERROR,
    PROCESSING,
    QUEUED,
    JobQuery,
    Outcome,
    Status,
)
from remotetask.retry import RetryPolicy
from remotetask.store import Finish, open_store
from remotetask.workers import WorkerInfo

LEASE = 30.0


def race(threads: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` on ``threads`` threads released at the same instant; re-raise failures."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            work(i)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    assert not errors, errors


def test_insert_get_list_filters_and_keyset_paging(service: TaskService) -> None:
    ids = [service.add("echo", {"n": n}) for n in range(7)]
    other = service.add("counter")
    service.cancel(ids[0])
    assert ids == sorted(ids)
    job = service.job(ids[3])
    assert (job.task, job.input, job.status, job.attempts) == ("echo", {"n": 3}, QUEUED, 0)
    assert service.store.get_job(service.ref, 10**9) is None

    newest = service.list_jobs(JobQuery(limit=3))
    assert [j.id for j in newest] == [other, ids[6], ids[5]]
    following = service.list_jobs(JobQuery(limit=3, after_id=newest[-1].id))
    assert [j.id for j in following] == [ids[4], ids[3], ids[2]]
    oldest = service.list_jobs(JobQuery(newest_first=False, limit=2, after_id=ids[0]))
    assert [j.id for j in oldest] == [ids[1], ids[2]]
    echoes = service.list_jobs(JobQuery(task="echo", statuses=frozenset({QUEUED})))
    assert [j.id for j in echoes] == list(reversed(ids[1:]))
    assert service.counts() == {QUEUED: 7, CANCELLED: 1}
    assert len(service.jobs) == 8
    assert list(service.jobs) == [*ids, other]


def test_services_are_isolated(app: App, service: TaskService) -> None:
    other = app.add_service("site2@Other")
    job_id = service.add("echo", 1)
    assert other.store.get_job(other.ref, job_id) is None
    assert other.counts() == {}
    assert other.cancel(job_id) is False
    assert service.status(job_id) == QUEUED


def test_transitions_cancel_and_start_later(service: TaskService) -> None:
    waiting = service.add("echo", start_later=True)
    assert service.status(waiting) == Status.START_LATER
    assert service.start_job(waiting) is True
    assert service.start_job(waiting) is False
    assert service.status(waiting) == QUEUED
    assert service.cancel(waiting) is True
    assert service.cancel(waiting) is False
    assert service.status(waiting) == CANCELLED
    assert service.job(waiting).ended is not None


def test_clean_counts_and_refuses_other_statuses(service: TaskService) -> None:
    done = service.add("echo", 1)
    failed = service.add("error")
    service.process()
    service.cancel(service.add("echo"))
    kept = service.add("echo")
    with pytest.raises(InvalidStatusError):
        service.clean([QUEUED])
    with pytest.raises(ValueError, match="clean removes only"):
        service.clean(["nonsense"])
    assert service.clean([COMPLETED]) == 1
    assert service.clean() == 2
    assert list(service.jobs) == [kept]
    assert done != failed


def test_idempotency_key_returns_the_first_id(service: TaskService) -> None:
    first = service.add("echo", 1, idempotency_key="k1")
    assert service.add("echo", 2, idempotency_key="k1") == first
    assert service.add("echo", 3, idempotency_key="k2") != first
    assert service.job(first).input == 1
    ids: list[int] = []
    race(8, lambda _i: ids.append(service.add("echo", 4, idempotency_key="raced")))
    assert len(set(ids)) == 1
    assert len(service.jobs) == 3


def test_a_submitted_group_answers_a_reused_key_with_the_first_job(
    service: TaskService,
) -> None:
    """Keys taken before the group or earlier in it are read back, not taken from the request."""
    earlier = service.add("echo", "earlier", idempotency_key="old")
    jobs = service.submit(
        [
            service.submission("echo", "first", idempotency_key="new"),
            service.submission("echo", "second", idempotency_key="new"),
            service.submission("echo", "plain"),
            service.submission("echo", "third", idempotency_key="old"),
        ]
    )
    assert [job.input for job in jobs] == ["first", "first", "plain", "earlier"]
    assert jobs[0].id == jobs[1].id
    assert jobs[3].id == earlier
    assert [job.status for job in jobs] == [QUEUED] * 4
    assert len(service.jobs) == 3


def test_a_bulk_add_keeps_every_input_as_given_and_in_order(service: TaskService) -> None:
    inputs = [
        None,
        "",
        "null",
        'quote " and \\ backslash',
        "ünïcödé 日本 😀",
        "nul \x00 byte",
        {"nested": [1, 2.5, True, None]},
        [],
        -7,
    ]
    ids = service.add_many("echo", inputs)
    assert ids == sorted(ids)
    assert [service.job(job_id).input for job_id in ids] == inputs
    assert {service.status(job_id) for job_id in ids} == {QUEUED}


@pytest.mark.parametrize("bad", [math.nan, math.inf, object(), {"a": {1, 2}}])
def test_non_json_input_is_refused_and_nothing_stored(service: TaskService, bad: object) -> None:
    with pytest.raises(InvalidInputError):
        service.add("echo", bad)
    with pytest.raises(InvalidInputError):
        service.add_many("echo", [1, bad])
    assert len(service.jobs) == 0


def test_claim_is_exclusive_under_eight_threads(app: App, service: TaskService) -> None:
    ids = service.add_many("echo", range(500))
    store, now = app.store, app.clock.now()
    claimed: list[int] = []
    lock = threading.Lock()

    def claim_all(i: int) -> None:
        while True:
            got = store.claim(service.ref, now, 7, f"w{i}", now + LEASE)
            if not got:
                return
            with lock:
                claimed.extend(c.job.id for c in got)

    race(8, claim_all)
    assert sorted(claimed) == ids
    assert max(Counter(claimed).values()) == 1
    assert service.counts() == {PROCESSING: 500}
    assert {service.job(i).attempts for i in ids} == {1}


def test_stale_completion_is_refused(app: App, service: TaskService, clock: FrozenClock) -> None:
    job_id = service.add("echo", 1)
    store, now = app.store, clock.now()
    (first,) = store.claim(service.ref, now, 1, "w1", now + LEASE)
    clock.advance(LEASE + 1)
    assert service.runner.recover_expired(clock.now()) == 1
    (second,) = store.claim(service.ref, clock.now(), 1, "w2", clock.now() + LEASE)
    assert second.key != first.key
    assert second.job.attempts == 2
    late = Outcome(COMPLETED, result_json='"stale"')
    assert store.finish(job_id, first.key, late, clock.now()) is False
    assert store.report_progress(job_id, first.key, 0.5, "stale") is False
    assert store.finish(job_id, second.key, Outcome(COMPLETED, '"ok"'), clock.now()) is True
    assert store.finish(job_id, second.key, late, clock.now()) is False
    assert (service.status(job_id), service.result(job_id)) == (COMPLETED, "ok")


def test_finish_many_guards_each_run_by_its_own_claim_and_claims_the_next(
    app: App, service: TaskService, clock: FrozenClock
) -> None:
    ids = [service.add("echo", n) for n in range(6)]
    store, now = app.store, clock.now()
    done, stale, failed, cancelled = store.claim(service.ref, now, 4, "w", now + LEASE)
    assert store.request_cancel(service.ref, cancelled.job.id)
    store.release(stale.job.id, stale.key)
    finishes = [
        Finish(done.job.id, done.key, Outcome(COMPLETED, '"ok"'), now + 1),
        Finish(stale.job.id, stale.key, Outcome(COMPLETED, '"stale"'), now + 1),
        Finish(failed.job.id, failed.key, Outcome(ERROR, error="boom", error_type="E"), now + 2),
        Finish(cancelled.job.id, cancelled.key, Outcome(COMPLETED, '"late"'), now + 2),
    ]
    stored, claims = store.finish_many(finishes, service.ref, 2, "w", now + 3, now + LEASE)
    assert stored == [True, False, True, True]
    assert [c.job.id for c in claims] == [stale.job.id, ids[4]]
    assert [c.job.attempts for c in claims] == [1, 1]
    assert (service.status(done.job.id), service.result(done.job.id)) == (COMPLETED, "ok")
    assert service.status(failed.job.id) == ERROR
    assert [e.error for e in store.attempt_errors(service.ref, failed.job.id)] == ["boom"]
    assert service.status(cancelled.job.id) == CANCELLED
    assert store.attempt_errors(service.ref, done.job.id) == []
    again, more = store.finish_many(finishes[:1], service.ref, 0, "w", now + 4, now + LEASE)
    assert (again, more) == ([False], [])
    assert service.status(ids[5]) == QUEUED


def test_finish_many_of_nothing_only_claims(
    app: App, service: TaskService, clock: FrozenClock
) -> None:
    job_id = service.add("echo", 1)
    now = clock.now()
    stored, claims = app.store.finish_many([], service.ref, 3, "w", now, now + LEASE)
    assert (stored, [c.job.id for c in claims]) == ([], [job_id])
    assert claims[0].job.service == str(service.ref)


def test_renewal_names_the_claims_taken_back(
    app: App, service: TaskService, clock: FrozenClock
) -> None:
    """A frozen worker learns from its next renewal which runs it no longer owns."""
    service.add_many("echo", [1, 2])
    store, now = app.store, clock.now()
    kept, lost = store.claim(service.ref, now, 2, "w1", now + LEASE)
    assert store.renew_leases([(kept.job.id, kept.key)], [], now + 3 * LEASE) == set()
    clock.advance(LEASE + 1)
    assert service.runner.recover_expired(clock.now()) == 1
    claims = [(kept.job.id, kept.key), (lost.job.id, lost.key)]
    assert store.renew_leases(claims, [], clock.now() + LEASE) == {lost.key}
    assert service.job(lost.job.id).status == QUEUED


def test_renewal_of_many_jobs_and_cron_runs_names_only_those_taken_back(
    app: App, service: TaskService, clock: FrozenClock
) -> None:
    """A draining worker renews hundreds of claims at once, and cron runs beside them."""
    service.add_many("echo", range(300))
    _first, scheduled = every_minute(service, clock)
    every_minute(service, clock)
    store = app.store
    clock.set(scheduled + 1)
    now = clock.now()
    claims = store.claim(service.ref, now, 300, "w1", now + LEASE)
    kept_run, lost_run = service.runner.fire_due(now, 2)
    jobs = [(c.job.id, c.key) for c in claims]
    runs = [(kept_run.run.id, kept_run.key), (lost_run.run.id, lost_run.key)]
    assert store.renew_leases(jobs[:150], runs[:1], now + 3 * LEASE) == set()
    clock.advance(LEASE + 1)
    assert service.runner.recover_expired(clock.now()) == 150  # the others were renewed
    lost = store.renew_leases([*jobs, (10**12, "no-such-claim")], runs, clock.now() + LEASE)
    assert lost == {key for _id, key in jobs[150:]} | {"no-such-claim", lost_run.key}
    assert store.renew_leases(jobs[:150], runs[:1], clock.now() + LEASE) == set()


def test_renewing_nothing_asks_nothing_of_the_database(database_url: str) -> None:
    """An idle processor renews every third of a lease with nothing held: that must not need
    the database (PostgreSQL's once took a connection, and failed while the server was out)."""
    store = open_store(database_url, auto_migrate=True)
    store.close()
    assert store.renew_leases([], [], 1.0) == set()


def test_release_does_not_count_the_attempt(app: App, service: TaskService) -> None:
    job_id = service.add("echo", 1)
    now = app.clock.now()
    (claim,) = app.store.claim(service.ref, now, 1, "w", now + LEASE)
    assert service.job(job_id).attempts == 1
    assert app.store.release(job_id, claim.key) is True
    assert app.store.release(job_id, claim.key) is False
    job = service.job(job_id)
    assert (job.status, job.attempts, job.started) == (QUEUED, 0, None)
    service.process()
    assert (service.status(job_id), service.job(job_id).attempts) == (COMPLETED, 1)


def test_lease_expiry_retries_then_fails(
    app: App, service: TaskService, clock: FrozenClock
) -> None:
    app.register("fragile", lambda _input: None, retry=RetryPolicy(max_retries=1))
    job_id = service.add("fragile")
    store = app.store
    for attempt in (1, 2):
        now = clock.now()
        (claim,) = store.claim(service.ref, now, 1, "w", now + LEASE)
        assert claim.job.attempts == attempt
        assert service.runner.recover_expired(now + LEASE / 2) == 0, "a live lease is never rescued"
        clock.advance(LEASE + 1)
        assert service.runner.recover_expired(clock.now()) == 1
    job = service.job(job_id)
    assert (job.status, job.attempts) == (ERROR, 2)
    assert job.error is not None
    assert "lease expired" in job.error


def test_rescue_never_overwrites_a_completed_job(
    app: App, service: TaskService, clock: FrozenClock
) -> None:
    job_id = service.add("echo", 1)
    now = clock.now()
    store = app.store
    (claim,) = store.claim(service.ref, now, 1, "w", now + LEASE)
    stale = store.expired_claims(service.ref, now + LEASE + 1)
    assert [c.key for c in stale] == [claim.key]
    assert store.finish(job_id, claim.key, Outcome(COMPLETED, '"done"'), now + 1)
    rescue = Outcome(QUEUED, error="lost", next_call=now + LEASE + 1)
    assert not store.finish(job_id, claim.key, rescue, now + LEASE + 1, expired_only=True)
    assert (service.status(job_id), service.result(job_id)) == (COMPLETED, "done")


def every_minute(service: TaskService, clock: FrozenClock) -> tuple[int, float]:
    """A cron job firing every minute, scheduled: its id and its first call time."""
    job_id = service.add_cron_job("echo", "tick", minute=range(60))
    service.runner.schedule_pending(clock.now())
    scheduled = service.job(job_id).next_call
    assert scheduled is not None
    return job_id, scheduled


def test_fire_cron_exactly_once_when_eight_threads_race(
    app: App, service: TaskService, clock: FrozenClock
) -> None:
    job_id, scheduled = every_minute(service, clock)
    wins: list[int] = []
    now = scheduled + 1

    def fire(_i: int) -> None:
        if app.store.fire_cron(job_id, scheduled, scheduled + 60, now, now + LEASE) is not None:
            wins.append(1)

    race(8, fire)
    assert len(wins) == 1
    runs = service.cron_runs(job_id)
    assert [r.scheduled_for for r in runs] == [scheduled]
    assert service.job(job_id).next_call == scheduled + 60


def test_a_cron_retry_is_claimed_once_when_eight_threads_race(
    app: App, service: TaskService, clock: FrozenClock
) -> None:
    job_id, scheduled = every_minute(service, clock)
    store, now = app.store, scheduled + 1
    fired = store.fire_cron(job_id, scheduled, scheduled + 60, now, now + LEASE)
    assert fired is not None
    run, key = fired
    again = Outcome(QUEUED, error="RuntimeError: hiccup", next_call=now)
    assert store.finish_cron_run(run.id, key, again, now)
    assert not store.finish_cron_run(run.id, key, again, now), "the key was given up"
    wins: list[str] = []

    def claim(_i: int) -> None:
        wins.extend(k for _, _, k in store.claim_cron_retries(service.ref, now, 5, now + LEASE))

    race(8, claim)
    assert len(wins) == 1
    [retried] = service.cron_runs(job_id)
    assert (retried.id, retried.attempts, retried.retry_at, retried.ended) == (
        run.id,
        2,
        None,
        None,
    )
    assert store.finish_cron_run(run.id, wins[0], Outcome(COMPLETED, '"tock"'), now + 2)
    [done] = service.cron_runs(job_id)
    assert (done.result, done.error, done.ended, done.attempts) == ("tock", None, now + 2, 2)
    assert service.job(job_id).attempts == 2


def test_progress_and_cooperative_cancel(app: App, service: TaskService) -> None:
    seen: dict[str, object] = {}

    @app.task(context=True)
    def long(ctx: remotetask.JobContext, _input: object) -> str:
        ctx.report_progress(0.5, "half way")
        seen["progress"] = service.job(ctx.job_id).progress
        seen["message"] = service.job(ctx.job_id).progress_message
        assert service.cancel(ctx.job_id) is True, "a processing job accepts a cancel request"
        seen["cancelled"] = ctx.cancelled()
        return "stopped early"

    job_id = service.add("long")
    service.process()
    assert seen == {"progress": 0.5, "message": "half way", "cancelled": True}
    assert service.status(job_id) == CANCELLED
    with pytest.raises(ValueError, match="fraction"):
        remotetask.JobContext(service, job_id, 1, app.store, "t").report_progress(1.5)


def test_prune_deletes_old_finished_jobs_in_batches(
    app: App, service: TaskService, clock: FrozenClock
) -> None:
    old = service.add_many("echo", range(5))
    service.process()
    cron = service.add_cron_job("echo", minute=range(60))
    service.process()  # the first pass gives the cron job its next call time
    service.process(clock.now() + 120)
    assert service.cron_runs(cron)
    service.cancel(cron)
    clock.advance(100)
    recent = service.add("echo")
    service.process()
    store, cutoff = app.store, clock.now() - 50
    assert store.prune(service.ref, COMPLETED, cutoff, 2) == 2
    assert store.prune(service.ref, COMPLETED, cutoff, 10) == 3
    assert store.prune(service.ref, COMPLETED, cutoff, 10) == 0
    assert store.prune(service.ref, CANCELLED, clock.now() + 1, 10) == 1
    assert list(service.jobs) == [recent]
    assert old[0] not in service.jobs
    with pytest.raises(ValueError, match="finished"):
        store.prune(service.ref, QUEUED, cutoff, 10)


def test_worker_records(app: App) -> None:
    store = app.store
    info = WorkerInfo("host:1", "host", 1, ("site1@A",), 10.0, 10.0)
    store.register_worker(info)
    store.register_worker(WorkerInfo("host:2", "host", 2, (), 11.0, 11.0))
    assert store.heartbeat_worker("host:1", 20.0) is True
    assert store.heartbeat_worker("gone", 20.0) is False
    assert store.workers()[0] == WorkerInfo("host:1", "host", 1, ("site1@A",), 10.0, 20.0)
    assert store.remove_worker("host:2") is True
    assert [w.name for w in store.workers()] == ["host:1"]


def test_schema_newer_is_refused_and_older_needs_migrate(database_url: str) -> None:
    if database_url == "sqlite://":
        pytest.skip("an in-memory database cannot be reopened")
    with pytest.raises(SchemaError, match="remotetask migrate"):
        open_store(database_url, auto_migrate=False)
    store = open_store(database_url, auto_migrate=True)
    latest = store.schema_version()
    assert latest >= 1
    assert store.migrate() == 0
    with store._tx(write=True) as cur:  # type: ignore[attr-defined]
        cur.execute("UPDATE schema_version SET version = ?", (latest + 1,))
    store.close()
    with pytest.raises(SchemaError, match="newer than this remotetask"):
        open_store(database_url, auto_migrate=True)
