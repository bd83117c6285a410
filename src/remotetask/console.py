"""The verbs the operator's console needs from a service, mixed into ``TaskService``.

They answer what an operator asks on a large, long-lived service without reading
its whole history (capped counts, error groups, throughput from recent ends) and
offer the single-job fixes the console makes: edit and retry, run a delayed job
now instead of later, pause and resume a cron job.
"""

from __future__ import annotations

from typing import Any, Protocol

from remotetask import jsonvalue
from remotetask.clock import Clock
from remotetask.errors import InvalidStatusError
from remotetask.failures import AttemptError, ErrorGroup
from remotetask.jobs import ERROR, CronRun, Job, Status
from remotetask.refs import ServiceRef
from remotetask.store import Store


class _Service(Protocol):
    """What the verbs below need from ``TaskService``."""

    @property
    def ref(self: _Service) -> ServiceRef: ...
    @property
    def store(self: _Service) -> Store: ...
    @property
    def clock(self: _Service) -> Clock: ...
    def job(self: _Service, job_id: int) -> Job: ...
    def _wake(self: _Service) -> None: ...
    def _schedule_changed(self: _Service) -> None: ...


class ConsoleVerbs:
    """Mixed into ``TaskService``."""

    # -- reading ----------------------------------------------------------------------

    def quick_counts(self: _Service, cap: int, task: str | None = None) -> dict[Status, int]:
        """Jobs per status, each counted only up to ``cap`` (``cap`` means "at least").

        With ``task``: the statuses of that task's newest ``cap`` jobs, or nothing
        when it has more.
        """
        return self.store.capped_counts(self.ref, cap, task)

    def throughput(self: _Service, since: float) -> dict[int, tuple[int, int]]:
        """(completed, errored) jobs per whole minute from ``since`` on (0 is the first)."""
        return self.store.finished_by_minute(self.ref, since)

    def attempt_errors(self: _Service, job_id: int) -> list[AttemptError]:
        """Every failed run of the job, oldest first; a retry keeps them."""
        return self.store.attempt_errors(self.ref, job_id)

    def cron_run_page(
        self: _Service, job_id: int, limit: int, before: float | None = None
    ) -> list[CronRun]:
        """Runs of a cron job scheduled before ``before``, newest first."""
        return self.store.cron_run_page(self.ref, job_id, limit, before)

    # -- triage -----------------------------------------------------------------------

    def error_groups(self: _Service, limit: int = 100) -> list[ErrorGroup]:
        """Errored jobs grouped by task, exception type and normalised message, largest first."""
        return self.store.error_groups(self.ref, limit)

    def retry_error_group(self: _Service, task: str, error_type: str | None, pattern: str) -> int:
        """Queue again every errored job of a group (attempts reset); return how many."""
        count = self.store.retry_error_group(self.ref, task, error_type, pattern)
        if count:
            self._wake()
        return count

    def remove_error_group(self: _Service, task: str, error_type: str | None, pattern: str) -> int:
        """Remove every errored job of a group; return how many."""
        return self.store.delete_error_group(self.ref, task, error_type, pattern)

    # -- fixing one job ---------------------------------------------------------------

    def retry_with_input(self: _Service, job_id: int, input: Any) -> bool:
        """Retry an errored job with a new input; False if it is not in error."""
        job = self.job(job_id)
        if job.status != ERROR:
            return False
        if job.schedule is not None and not job.schedule.is_delay:
            raise InvalidStatusError(f"job {job_id} is a cron job; it runs again on schedule")
        retried = self.store.retry_job(self.ref, job_id, jsonvalue.dumps(input))
        if retried:
            self._wake()
        return retried

    def run_delayed_now(self: _Service, job_id: int) -> bool:
        """Run a delayed job at once instead of at its time (it still runs once)."""
        moved = self.store.run_delayed_now(self.ref, job_id, self.clock.now())
        if moved:
            self._wake()
        return moved

    def pause(self: _Service, job_id: int) -> bool:
        """Stop a cron job from firing until ``resume``; False if it is not a running cron job."""
        return self.store.set_paused(self.ref, job_id, True)

    def resume(self: _Service, job_id: int) -> bool:
        """Let a paused cron job fire again from its next time (missed ones are skipped)."""
        resumed = self.store.set_paused(self.ref, job_id, False)
        if resumed:
            self._schedule_changed()
        return resumed
