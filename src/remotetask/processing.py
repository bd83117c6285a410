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
from remotetask.runner import retry_or_fail, run_claim, run_cron
from remotetask.store.base import Claim

if TYPE_CHECKING:
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


class Processor:
    """The processing thread of one service and its pool of worker threads."""

    def __init__(self, service: TaskService, kind: ProcessorKind) -> None:
        self.service = service
        self.kind = kind
        settings = service.app.settings
        self._lease = settings.lease_seconds
        self._wait_time = settings.wait_time
        self._stop = threading.Event()
        self._grace = settings.shutdown_grace
        self._running: dict[str, tuple[int | None, Future[object]]] = {}
        self._running_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=kind.max_threads, thread_name_prefix=f"remotetask-worker-{service.ref}"
        )
        self._thread = threading.Thread(
            target=self._loop, name=service.ref.thread_name, daemon=True
        )
        self._last_renewal = 0.0
        self._last_recovery = 0.0
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
        service, store = self.service, self.service.store
        now = service.clock.now()
        self._keep_leases(now)
        self._enforce_timeouts(now)
        if now - self._last_prune >= PRUNE_EVERY_S:
            prune_finished(service, now)
            self._last_prune = now
        service.schedule_pending(now)
        free = self.kind.max_threads - self._busy()
        if free <= 0:
            return False
        lease_until = now + self._lease
        dispatched = 0
        for job in store.due_cron_jobs(service.ref, now)[:free]:
            fired = service.fire(job, now, lease_until)
            if fired is not None:
                run, token = fired
                self._submit(token, None, run_cron, service, job, run, token, now)
                dispatched += 1
        if free > dispatched:
            claims = store.claim(
                service.ref, now, free - dispatched, service.app.worker_name, lease_until
            )
            for claim in claims:
                task = service.app.tasks.get(claim.job.task)
                if task is not None and task.timeout is not None:
                    with self._running_lock:
                        self._deadlines[claim.token] = (now + task.timeout, task.timeout, claim)
                self._submit(claim.token, claim.job.id, run_claim, service, claim, now)
            dispatched += len(claims)
        return dispatched > 0 and self._busy() < self.kind.max_threads

    def _submit(self, token: str, job_id: int | None, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` on a worker thread; ``job_id`` is None for a cron firing."""
        future: Future[object] = self._pool.submit(fn, *args)
        with self._running_lock:
            self._running[token] = (job_id, future)
        future.add_done_callback(lambda _f: self._done(token))

    def _done(self, token: str) -> None:
        with self._running_lock:
            self._running.pop(token, None)
            self._deadlines.pop(token, None)
        self.service.wakeup.set()

    def _busy(self) -> int:
        with self._running_lock:
            return len(self._running)

    def _idle_timeout(self) -> float:
        timeout = min(self._wait_time, self._lease / 3)
        if self._busy() >= self.kind.max_threads:
            return timeout  # nothing can start before a slot frees, and that wakes us
        try:
            due = self.service.store.next_due(self.service.ref)
        except Exception:
            return timeout
        if due is not None:
            timeout = min(timeout, max(0.0, due - self.service.clock.now()))
        return timeout

    # -- leases -----------------------------------------------------------------------

    def _keep_leases(self, now: float) -> None:
        """Renew our running jobs' leases, and give back jobs whose workers vanished."""
        if now - self._last_renewal >= self._lease / 3:
            with self._running_lock:
                tokens = list(self._running)
            self.service.store.renew_leases(tokens, now + self._lease)
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
                futures = [future for _, future in self._running.values()]
            for future in futures:
                remaining = deadline - clock.now()
                if remaining <= 0:
                    break
                with contextlib.suppress(Exception):
                    future.result(timeout=min(remaining, self._lease / 3))
            with self._running_lock:
                tokens = list(self._running)
            store.renew_leases(tokens, clock.now() + self._lease)
        with self._running_lock:
            leftover = [(token, job_id) for token, (job_id, _) in self._running.items()]
        for token, job_id in leftover:
            if job_id is not None and store.release(job_id, token):
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
