"""Running one claimed job or cron firing and turning what happened into an Outcome.

Shared by ``TaskService.process`` (synchronous) and the processing threads, so
a job behaves the same however it is run.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from remotetask import jsonvalue
from remotetask.context import JobContext
from remotetask.errors import InvalidInputError, StoreError, TaskError
from remotetask.jobs import COMPLETED, ERROR, QUEUED, CronRun, Job
from remotetask.store.base import Claim, Outcome

if TYPE_CHECKING:
    from remotetask.service import TaskService

log = logging.getLogger("remotetask")


def run_claim(service: TaskService, claim: Claim, now: float) -> Outcome:
    """Run a claimed job and store how it ended (refused if the claim was superseded)."""
    outcome = outcome_of(service, claim, now)
    ended = finish_time(service, now)
    after_finish(service, claim, outcome, ended, store_outcome(service, claim, outcome, ended))
    return outcome


def store_outcome(service: TaskService, claim: Claim, outcome: Outcome, ended: float) -> bool:
    """Store a run's outcome, waiting out a database outage for up to one lease."""
    store = service.store
    return _persist(
        lambda: store.finish(claim.job.id, claim.token, outcome, ended),
        service.app.settings.lease_seconds,
    )


def outcome_of(service: TaskService, claim: Claim, now: float) -> Outcome:
    """Run a claimed job's task and say how it ended, without storing anything."""
    outcome = _execute(service, claim.job, claim.token, retries=True, now=now)
    if outcome.next_call is not None:
        service.schedule_dirty = True  # a retry later on: the idle wait must know
    return outcome


def finish_time(service: TaskService, now: float) -> float:
    """When a run ended: the clock, but never before the pass's ``now`` (tests drive it)."""
    return max(now, service.clock.now())


def after_finish(
    service: TaskService, claim: Claim, outcome: Outcome, ended: float, stored: bool
) -> None:
    """Tell the observers about a stored outcome, or warn that it was refused."""
    if stored:
        service.app.notify_finished(service, claim.job, outcome, ended)
    else:
        warn_superseded(service, claim.job)


def warn_superseded(service: TaskService, job: Job) -> None:
    log.warning(
        "job %s of %s: its claim was taken back while it ran; result discarded",
        job.id,
        service.ref,
    )


def run_cron(service: TaskService, job: Job, run: CronRun, token: str, now: float) -> Outcome:
    """Run one firing of a cron job; a failure is recorded on the run and retried next time."""
    outcome = _execute(service, job, token, retries=False, now=now)
    ended, store = finish_time(service, now), service.store
    _persist(
        lambda: store.finish_cron_run(run.id, token, outcome, ended),
        service.app.settings.lease_seconds,
    )
    return outcome


def _persist(write: Callable[[], bool], within: float) -> bool:
    """Retry writing an outcome while the database is unreachable, for up to ``within`` s.

    A result is worth waiting for: giving up means the job runs again after its
    lease. Retrying is safe because the write is guarded by the claim token.
    """
    deadline = time.monotonic() + within
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


def retry_or_fail(service: TaskService, job: Job, error: str, now: float) -> Outcome:
    """The outcome for a run that ended without an answer (its worker vanished)."""
    task = service.app.tasks.get(job.task)
    delay = task.retry.delay(job.attempts) if task is not None else None
    if delay is None:
        return Outcome(ERROR, error=error)
    return Outcome(QUEUED, error=error, next_call=now + delay)


def _execute(service: TaskService, job: Job, token: str, *, retries: bool, now: float) -> Outcome:
    task = service.app.tasks.get(job.task)
    if task is None:
        log.error("job %s of %s: task %r is not registered", job.id, service.ref, job.task)
        return Outcome(ERROR, error=f"task {job.task!r} is not registered")
    ctx = JobContext(service, job.id, job.attempts, service.store, token)
    try:
        result = task.run(ctx, job.input)
        return Outcome(COMPLETED, result_json=jsonvalue.dumps(result, "result"))
    except TaskError as exc:
        return Outcome(ERROR, error=str(exc))
    except InvalidInputError as exc:
        return Outcome(ERROR, error=str(exc))
    except Exception as exc:
        text = traceback.format_exc()
        message = f"{type(exc).__name__}: {exc}"
        log.error(
            "job %s (%s) of %s failed on attempt %s:\n%s",
            job.id,
            job.task,
            service.ref,
            job.attempts,
            text,
        )
        delay = task.retry.delay(job.attempts) if retries else None
        if delay is None:
            return Outcome(ERROR, error=message, traceback=text)
        return Outcome(QUEUED, error=message, traceback=text, next_call=now + delay)
