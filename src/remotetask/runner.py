"""Running one claimed job or cron firing and turning what happened into an Outcome.

Shared by ``TaskService.process`` (synchronous) and the processing threads, so
a job behaves the same however it is run.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING

from remotetask import jsonvalue
from remotetask.context import JobContext
from remotetask.errors import InvalidInputError, TaskError
from remotetask.jobs import COMPLETED, ERROR, QUEUED, CronRun, Job
from remotetask.store.base import Claim, Outcome

if TYPE_CHECKING:
    from remotetask.service import TaskService

log = logging.getLogger("remotetask")


def run_claim(service: TaskService, claim: Claim, now: float) -> Outcome:
    """Run a claimed job and store how it ended (refused if the claim was superseded)."""
    outcome = _execute(service, claim.job, claim.token, retries=True, now=now)
    finished_at = max(now, service.clock.now())
    if not service.store.finish(claim.job.id, claim.token, outcome, finished_at):
        log.warning(
            "job %s of %s: its claim was taken back while it ran; result discarded",
            claim.job.id,
            service.ref,
        )
    else:
        service.app.notify_finished(service, claim.job, outcome, finished_at)
    return outcome


def run_cron(service: TaskService, job: Job, run: CronRun, token: str, now: float) -> Outcome:
    """Run one firing of a cron job; a failure is recorded on the run and retried next time."""
    outcome = _execute(service, job, token, retries=False, now=now)
    service.store.finish_cron_run(run.id, token, outcome, max(now, service.clock.now()))
    return outcome


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
