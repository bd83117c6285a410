"""Background processing: one thread per service that claims jobs and hands them to workers.

The processing thread never runs a task itself. It claims as many jobs as it
has free worker slots (a slot is taken before a claim, never after), renews
the leases of running jobs, gives back the jobs of workers that vanished, and
sleeps on an event that ``add`` sets, so an idle service wakes at once and a
stop takes effect at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from remotetask.maintenance import PRUNE_EVERY_S, heartbeat, prune_finished, time_out
from remotetask.runner import (
    after_finish,
    finish_time,
    outcome_of,
    retry_or_fail,
    run_cron,
    store_outcome,
)
from remotetask.store.base import Claim

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from remotetask.jobs import CronRun, Job
    from remotetask.service import TaskService

log = logging.getLogger("remotetask")

WORKER_LOST = "the worker running this job stopped answering (lease expired)"


@dataclass(frozen=True, slots=True)
class SimpleProcessor:
    """One job at a time, in the order the jobs were added (the original's default)."""

    @property
    def max_threads(self) -> int:
        return 1


@dataclass(frozen=True, slots=True)
class MultiProcessor:
    """Up to ``max_threads`` jobs at once."""

    max_threads: int = 5

    def __post_init__(self) -> None:
        if self.max_threads < 1:
            raise ValueError("max_threads must be at least 1")


ProcessorKind = SimpleProcessor | MultiProcessor


@dataclass(frozen=True, slots=True)
class _Running:
    """A claimed job (``run_id`` None) or cron firing (``job_id`` None) being run."""

    job_id: int | None
    run_id: int | None


class Processor:
    """The processing thread of one service and its pool of worker threads."""

    def __init__(self, service: TaskService, kind: ProcessorKind) -> None:
        self.service = service
        self.kind = kind
        settings = service.app.settings
        self._lease = settings.lease_seconds
        self._wait_time = settings.wait_time
        self._grace = settings.shutdown_grace
        self._stop = threading.Event()
        self._running: dict[str, _Running] = {}
        self._slots: set[Future[None]] = set()
        self._running_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=kind.max_threads, thread_name_prefix=f"remotetask-worker-{service.ref}"
        )
        self._thread = threading.Thread(
            target=self._loop, name=service.ref.thread_name, daemon=True
        )
        self._last_renewal = 0.0
        self._last_recovery = 0.0
        self._next_schedule_check = 0.0
        self._next_due: float | None = None
        self._last_prune = 0.0
        self._deadlines: dict[str, tuple[float, float, Claim]] = {}
        """Running claims whose task has a timeout: token -> (deadline, timeout, claim)."""

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        self.service.app.processing_started(self.service)
        self._thread.start()

    def stop(self, grace: float) -> None:
        self._grace = grace
        self._stop.set()
        self.service.wakeup.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # -- the loop ---------------------------------------------------------------------

    def _loop(self) -> None:
        wakeup = self.service.wakeup
        while not self._stop.is_set():
            try:
                dispatched = self._pass()
            except Exception:
                log.exception("processing pass of %s failed; retrying", self.service.ref)
                dispatched = False
            if not dispatched:
                wakeup.wait(self._idle_timeout())
            wakeup.clear()
        self._drain()

    def _pass(self) -> bool:
        """Claim work for every free slot; report whether a slot is still free afterwards."""
        service = self.service
        now = service.clock.now()
        self._keep_leases(now)
        self._enforce_timeouts(now)
        if now - self._last_prune >= PRUNE_EVERY_S:
            prune_finished(service, now)
            self._last_prune = now
        free = self.kind.max_threads - self._busy()
        if free <= 0:
            return False
        lease_until = now + self._lease
        dispatched = 0
        if service.schedule_dirty or now >= self._next_schedule_check:
            dispatched = self._fire_due_cron_jobs(now, lease_until, free)
        if free > dispatched:
            claims = service.store.claim(
                service.ref, now, free - dispatched, service.app.worker_name, lease_until
            )
            for claim in claims:
                self._occupy_slot(self._work_through_queue, claim, now)
            dispatched += len(claims)
        return dispatched > 0 and self._busy() < self.kind.max_threads

    def _fire_due_cron_jobs(self, now: float, lease_until: float, free: int) -> int:
        """Schedule new cron jobs, fire the due ones, and note when to look again."""
        service = self.service
        service.schedule_dirty = False
        service.schedule_pending(now)
        fired_count = 0
        for job in service.store.due_cron_jobs(service.ref, now)[:free]:
            fired = service.fire(job, now, lease_until)
            if fired is not None:
                run, token = fired
                self._occupy_slot(self._fire, job, run, token, now)
                fired_count += 1
        self._next_due = service.store.next_due(service.ref)
        horizon = now + self._wait_time
        self._next_schedule_check = (
            horizon if self._next_due is None else min(horizon, self._next_due)
        )
        return fired_count

    def _occupy_slot(self, work: Callable[..., None], *args: Any) -> None:
        """Run ``work`` on a worker thread; the slot is taken before anything is claimed."""
        with self._running_lock:
            future = self._pool.submit(work, *args)
            self._slots.add(future)
        future.add_done_callback(self._slot_freed)

    def _slot_freed(self, future: Future[None]) -> None:
        with self._running_lock:
            self._slots.discard(future)
        self.service.wakeup.set()

    def _busy(self) -> int:
        with self._running_lock:
            return len(self._slots)

    def _work_through_queue(self, claim: Claim, now: float) -> None:
        """Run a claimed job, then claim and run the next from this same thread.

        Claiming the follow-up here, rather than going back to the processing
        thread, saves a thread hand-off per job when the queue is long.
        """
        service, store = self.service, self.service.store
        while True:
            self._watch_timeout(claim, now)
            with self._tracking(claim.token, _Running(claim.job.id, None)):
                outcome = outcome_of(service, claim, now)
                ended = finish_time(service, now)
                if self._stop.is_set():
                    stored = store_outcome(service, claim, outcome, ended)
                    after_finish(service, claim, outcome, ended, stored)
                    return
                try:
                    finished, claims = store.finish_and_claim(
                        claim.job.id,
                        claim.token,
                        outcome,
                        ended,
                        service.ref,
                        service.app.worker_name,
                        ended + self._lease,
                    )
                except Exception:
                    log.exception(
                        "storing job %s of %s failed; retrying", claim.job.id, service.ref
                    )
                    stored = store_outcome(service, claim, outcome, ended)
                    after_finish(service, claim, outcome, ended, stored)
                    return
            after_finish(service, claim, outcome, ended, finished)
            if not claims:
                return
            claim, now = claims[0], ended

    def _fire(self, job: Job, run: CronRun, token: str, now: float) -> None:
        with self._tracking(token, _Running(None, run.id)):
            run_cron(self.service, job, run, token, now)

    @contextlib.contextmanager
    def _tracking(self, token: str, running: _Running) -> Iterator[None]:
        """Keep the claim's lease renewed while it runs."""
        with self._running_lock:
            self._running[token] = running
        try:
            yield
        finally:
            with self._running_lock:
                self._running.pop(token, None)
                self._deadlines.pop(token, None)

    def _watch_timeout(self, claim: Claim, now: float) -> None:
        """Note the deadline of a claim whose task has a timeout."""
        task = self.service.app.tasks.get(claim.job.task)
        if task is not None and task.timeout is not None:
            with self._running_lock:
                self._deadlines[claim.token] = (now + task.timeout, task.timeout, claim)

    def _idle_timeout(self) -> float:
        now = self.service.clock.now()
        timeout = min(self._wait_time, self._lease / 3, max(0.0, self._next_schedule_check - now))
        return max(timeout, 0.001)

    # -- leases -----------------------------------------------------------------------

    def _claims(self) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        with self._running_lock:
            items = list(self._running.items())
        jobs = [(r.job_id, token) for token, r in items if r.job_id is not None]
        runs = [(r.run_id, token) for token, r in items if r.run_id is not None]
        return jobs, runs

    def _keep_leases(self, now: float) -> None:
        """Renew our running jobs' leases, and give back jobs whose workers vanished."""
        if now - self._last_renewal >= self._lease / 3:
            self.service.store.renew_leases(*self._claims(), now + self._lease)
            heartbeat(self.service.app, self.service.app.processing_refs(), now)
            self._last_renewal = now
        if now - self._last_recovery >= min(self._lease / 3, 10.0):
            recover_expired(self.service, now)
            self._last_recovery = now

    def _enforce_timeouts(self, now: float) -> None:
        """Fail or retry runs past their task's timeout (their threads run on, unheard)."""
        with self._running_lock:
            overdue = [(t, entry) for t, entry in self._deadlines.items() if entry[0] <= now]
        for token, (_, timeout, claim) in overdue:
            time_out(self.service, claim, timeout, now)
            with self._running_lock:
                self._deadlines.pop(token, None)

    def _drain(self) -> None:
        """After a stop: let running jobs finish within the grace period, then give them back."""
        store, clock = self.service.store, self.service.clock
        deadline = clock.now() + self._grace
        while self._busy() and clock.now() < deadline:
            with self._running_lock:
                futures = list(self._slots)
            for future in futures:
                remaining = deadline - clock.now()
                if remaining <= 0:
                    break
                with contextlib.suppress(Exception):
                    future.result(timeout=min(remaining, self._lease / 3))
            store.renew_leases(*self._claims(), clock.now() + self._lease)
        jobs, _runs = self._claims()
        for job_id, token in jobs:
            if store.release(job_id, token):
                log.warning("job %s of %s given back at shutdown", job_id, self.service.ref)
        self._pool.shutdown(wait=False, cancel_futures=True)


def recover_expired(service: TaskService, now: float) -> int:
    """Retry or fail jobs whose lease ran out, guarded so a live run is never overwritten."""
    store = service.store
    recovered = 0
    for claim in store.expired_claims(service.ref, now):
        outcome = retry_or_fail(service, claim.job, WORKER_LOST, now)
        if store.finish(claim.job.id, claim.token, outcome, now, expired_only=True):
            log.warning(
                "job %s of %s: %s; %s",
                claim.job.id,
                service.ref,
                WORKER_LOST,
                "queued again" if outcome.next_call is not None else "failed",
            )
            recovered += 1
    store.fail_expired_cron_runs(service.ref, now, WORKER_LOST)
    return recovered
