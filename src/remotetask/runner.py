"""Running a service's jobs: from a claim to the stored outcome.

``Runner`` owns every step of a run: claiming, calling the task, deciding on a
retry, storing the outcome (waiting out a short database outage), telling the
observers, and giving a run up when its lease was lost or it timed out. Cron
firings go through it too. ``TaskService.process`` and the processing threads
both use it, so a job behaves the same however it is run; the threads only
decide when and where (see ``processing.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from remotetask.engine import Engine
from remotetask.errors import InvalidInputError, StoreError, TaskError
from remotetask.failures import exception_text, exception_type, storable
from remotetask.invoke import invoke
from remotetask.jobs import COMPLETED, ERROR, QUEUED, CronRun, Job, Outcome
from remotetask.refs import ServiceRef
from remotetask.store import Claim, Finish

log = logging.getLogger("remotetask")

WORKER_LOST = "the worker running this job stopped answering (lease expired)"

T = TypeVar("T")

ContextFactory = Callable[[Job, str], Any]
"""Makes what a context task receives, from the job and its claim key."""


@dataclass(frozen=True, slots=True)
class Firing:
    """One recorded firing of a cron job, with the claim key of its run."""

    job: Job
    run: CronRun
    key: str


class Ran(NamedTuple):
    """A run that ended: the claim it ran under, its outcome and when (stored or not yet)."""

    claim: Claim
    outcome: Outcome
    ended: float


class Runner:
    """Runs the jobs and cron firings of one service."""

    def __init__(self, engine: Engine, ref: ServiceRef, context: ContextFactory) -> None:
        self.engine = engine
        self.ref = ref
        self._context = context

    # -- jobs -------------------------------------------------------------------------

    def claim(self, now: float, limit: int) -> list[Claim]:
        """Take up to ``limit`` due jobs for this process (each holding a fresh lease)."""
        lease_until = now + self.engine.settings.lease_seconds
        return self.engine.store.claim(self.ref, now, limit, self.engine.worker_name, lease_until)

    def run(self, claim: Claim, now: float) -> bool:
        """Run a claimed job and store how it ended; report whether it was stored."""
        (stored,), _ = self.store([self.execute(claim, now)], 0)
        return stored

    def execute(self, claim: Claim, now: float) -> Ran:
        """Call the task of a claimed job; nothing is stored (see ``store``)."""
        outcome = self._execute(claim.job, claim.key, now)
        return Ran(claim, outcome, max(now, self.engine.clock.now()))  # never before ``now``

    def store(self, runs: Sequence[Ran], limit: int) -> tuple[list[bool], list[Claim] | None]:
        """Store ended runs in one commit, then claim up to ``limit`` next jobs with it.

        Each run is refused if its claim was superseded (given up, released, taken
        by a rescuer). Observers hear of a run only once it is stored, so nothing is
        reported that a crash could still take back. Waits out a short database
        outage (see ``_persist``).
        """
        finishes = [Finish(r.claim.job.id, r.claim.key, r.outcome, r.ended) for r in runs]
        lease = self.engine.settings.lease_seconds
        worker = self.engine.worker_name

        def write() -> tuple[list[bool], list[Claim] | None]:
            now = self.engine.clock.now()
            return self.engine.store.finish_many(
                finishes, self.ref, limit, worker, now, now + lease
            )

        stored, claims = self._persist(write)
        for ran, ok in zip(runs, stored, strict=True):
            if ok:
                self.engine.notify_finished(self.ref, ran.claim.job, ran.outcome, ran.ended)
            else:
                log.warning(
                    "job %s of %s: its claim was taken back while it ran; result discarded",
                    ran.claim.job.id,
                    self.ref,
                )
        return stored, claims

    def give_up(self, claim: Claim, reason: str, now: float, *, expired_only: bool) -> bool:
        """End a run that gave no answer (lease lost, timed out): retried or failed by policy.

        Guarded by the claim key, so the run's own late completion is refused
        afterwards; with ``expired_only`` also by its lease having run out (how a
        rescuer avoids overwriting a live run). Reports whether it was ended here.
        """
        task = self.engine.tasks.get(claim.job.task)
        delay = task.retry.decide(None, claim.job.attempts) if task is not None else None
        outcome = (
            Outcome(ERROR, error=reason)
            if delay is None
            else Outcome(QUEUED, error=reason, next_call=now + delay)
        )
        store = self.engine.store
        if not store.finish(claim.job.id, claim.key, outcome, now, expired_only=expired_only):
            return False
        log.warning(
            "job %s (%s) of %s: %s; %s",
            claim.job.id,
            claim.job.task,
            self.ref,
            reason,
            "queued again" if delay is not None else "failed",
        )
        return True

    def recover_expired(self, now: float) -> int:
        """Give up jobs and cron runs whose lease ran out (their worker is gone)."""
        store = self.engine.store
        recovered = sum(
            self.give_up(claim, WORKER_LOST, now, expired_only=True)
            for claim in store.expired_claims(self.ref, now)
        )
        store.fail_expired_cron_runs(self.ref, now, WORKER_LOST)
        return recovered

    def timeout_of(self, job: Job) -> float | None:
        """The task's timeout in seconds, if it has one."""
        task = self.engine.tasks.get(job.task)
        return None if task is None else task.timeout

    def renew(
        self, jobs: Sequence[tuple[int, str]], runs: Sequence[tuple[int, str]], now: float
    ) -> set[str]:
        """Extend the leases of running (job id, key) claims and (run id, key) cron runs.

        Returns the keys whose run was taken back (their lease had run out).
        """
        return self.engine.store.renew_leases(jobs, runs, now + self.engine.settings.lease_seconds)

    def release(self, job_id: int, key: str) -> bool:
        """Give a claimed job back to the queue without counting the attempt."""
        return self.engine.store.release(job_id, key)

    # -- cron jobs --------------------------------------------------------------------

    def schedule_pending(self, now: float) -> None:
        """Give new and rescheduled cron and delayed jobs their next call time after ``now``."""
        store = self.engine.store
        for job in store.unscheduled(self.ref):
            if job.schedule is not None:
                store.set_next_call(job.id, job.schedule.next_after(now))

    def fire_due(self, now: float, limit: int) -> list[Firing]:
        """Schedule pending cron jobs, then take up to ``limit`` due firings, each once.

        Firings waiting to be tried again come first (they are older), then new
        firings are recorded.
        """
        self.schedule_pending(now)
        store = self.engine.store
        lease_until = now + self.engine.settings.lease_seconds
        firings = [
            Firing(job, run, key)
            for job, run, key in store.claim_cron_retries(self.ref, now, limit, lease_until)
        ]
        for job in store.due_cron_jobs(self.ref, now):
            if len(firings) >= limit:
                break
            assert job.schedule is not None
            assert job.next_call is not None
            fired = store.fire_cron(
                job.id, job.next_call, job.schedule.next_after(now), now, lease_until
            )
            if fired is not None:
                firings.append(Firing(job, *fired))
        return firings

    def run_firing(self, firing: Firing, now: float) -> Outcome:
        """Run one firing of a cron job, recording how it went on the run and the cron job.

        A generic exception is tried again under the task's retry policy, as the
        original retried every job: the run then waits (``queued`` outcome) and a
        later pass claims it again. The task sees the firing's attempts, not the job's.
        """
        job = dataclasses.replace(firing.job, attempts=firing.run.attempts)
        outcome = self._execute(job, firing.key, now)
        ended = max(now, self.engine.clock.now())
        store = self.engine.store
        self._persist(lambda: store.finish_cron_run(firing.run.id, firing.key, outcome, ended))
        return outcome

    def has_due(self, now: float) -> bool:
        """Whether a job or cron firing is due at ``now`` (scheduling new cron jobs first)."""
        self.schedule_pending(now)
        return self.engine.store.has_due(self.ref, now)

    def next_due(self) -> float | None:
        """The earliest future time at which something of the service becomes due."""
        return self.engine.store.next_due(self.ref)

    # -- one call of a task -----------------------------------------------------------

    def _execute(self, job: Job, key: str, now: float) -> Outcome:
        task = self.engine.tasks.get(job.task)
        if task is None:
            log.error("job %s of %s: task %r is not registered", job.id, self.ref, job.task)
            return Outcome(ERROR, error=f"task {job.task!r} is not registered")
        try:
            result_json = invoke(task, self._context(job, key), job.input)
            return Outcome(COMPLETED, result_json=result_json)
        except BaseException as exc:  # SystemExit too: a task cannot stop its worker thread
            expected = isinstance(exc, TaskError | InvalidInputError)
            message, kind = exception_text(exc), exception_type(exc)  # as the original kept it
            trace = None if expected else storable(traceback.format_exc())
            if not expected:
                log.error(
                    "job %s (%s) of %s failed on attempt %s:\n%s",
                    job.id,
                    job.task,
                    self.ref,
                    job.attempts,
                    trace,
                )
            delay = task.retry.decide(exc, job.attempts)
            if delay is None:
                return Outcome(ERROR, error=message, traceback=trace, error_type=kind)
            return Outcome(
                QUEUED, error=message, traceback=trace, next_call=now + delay, error_type=kind
            )

    def _persist(self, write: Callable[[], T]) -> T:
        """Retry writing an outcome while the database is unreachable, for up to one lease.

        A result is worth waiting for: giving up means the job runs again after its
        lease. Retrying is safe because the write is guarded by the claim key.
        """
        deadline = time.monotonic() + self.engine.settings.lease_seconds
        delay = 0.05
        while True:
            try:
                return write()
            except StoreError as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("cannot store a job outcome yet (%s); retrying", exc)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
