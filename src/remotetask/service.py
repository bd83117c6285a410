"""TaskService: the one place that owns the job verbs, and the context a task receives.

Every transport (HTTP, XML-RPC, UI, CLI) is a thin adapter over these
methods. Times are epoch seconds; ``now`` arguments let tests and the
original's examples drive time without sleeping. Running jobs is the
``Runner``'s work, and the processing thread's when it runs in the background.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from remotetask import jsonvalue
from remotetask.clock import Clock, pauses
from remotetask.engine import Engine
from remotetask.errors import (
    InvalidScheduleError,
    InvalidStatusError,
    JobNotFoundError,
    StoreError,
)
from remotetask.jobs import (
    CANCELLABLE,
    CANCELLED,
    CRONJOB,
    DELAYED,
    FINISHED,
    QUEUED,
    START_LATER,
    CronRun,
    Job,
    JobQuery,
    Status,
)
from remotetask.processing import Processor
from remotetask.refs import ServiceRef
from remotetask.runner import Runner
from remotetask.schedule import FIELD_SETS, Schedule
from remotetask.settings import ProcessorKind
from remotetask.store import NewJob, Store
from remotetask.tasks import Task

_SCHEDULE_FIELDS = {f.name for f in dataclasses.fields(Schedule)}


@dataclasses.dataclass(frozen=True, slots=True)
class Submission:
    """A job checked and encoded, ready to be stored by ``TaskService.submit``.

    Made by ``TaskService.submission``; a transport that gathers many of them
    (the web server's group commit) stores them in one transaction.
    """

    task: str
    input: Any
    input_json: str
    status: Status
    idempotency_key: str | None = None


class JobContext:
    """The running job as its task sees it: who runs it, progress, cancellation."""

    def __init__(
        self, service: TaskService, job_id: int, attempts: int, store: Store, key: str
    ) -> None:
        self.service = service
        self.job_id = job_id
        self.attempts = attempts
        """Runs of this job so far, this one included (1 on the first run)."""
        self._store = store
        self._key = key

    @property
    def attempt(self) -> int:
        """Deprecated spelling of ``attempts``."""
        return self.attempts

    def report_progress(self, fraction: float, message: str | None = None) -> None:
        """Store how far the job is (0.0-1.0) and an optional message, visible to clients."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("progress is a fraction between 0.0 and 1.0")
        self._store.report_progress(self.job_id, self._key, fraction, message)

    def cancelled(self) -> bool:
        """Whether someone asked to cancel this job; a task should return soon when it is."""
        return self._store.cancel_requested(self.job_id)


class TaskService:
    """A named service in a site: queues jobs for the app's tasks and runs them."""

    def __init__(self, app: Engine, ref: ServiceRef) -> None:
        self.app = app
        """The App this service belongs to."""
        self.ref = ref
        self.runner = Runner(app, ref, self._context)
        """How this service's jobs are run (the processing thread and ``process`` use it)."""
        self._processor: Processor | None = None
        self._processor_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<TaskService {self.ref}>"

    @property
    def store(self) -> Store:
        """The app's store (for tests and tools; transports use the verbs)."""
        return self.app.store

    @property
    def clock(self) -> Clock:
        return self.app.clock

    # -- tasks and jobs ---------------------------------------------------------------

    def available_tasks(self) -> dict[str, Task]:
        """Every task the service can run, by name."""
        return dict(self.app.tasks)

    def add(
        self,
        task: str,
        input: Any = None,
        *,
        start_later: bool = False,
        idempotency_key: str | None = None,
    ) -> int:
        """Queue a job and return its id; ``start_later`` parks it until ``start_job``."""
        status = START_LATER if start_later else QUEUED
        return self._insert([self._new_job(task, input, status, None, idempotency_key)])[0]

    def add_many(
        self, task: str, inputs: Iterable[Any], *, idempotency_key: str | None = None
    ) -> list[int]:
        """Queue one job per input in a single transaction (bulk enqueue).

        With ``idempotency_key`` the batch is stored once: job ``i`` gets the key
        ``f"{idempotency_key}/{i}"``, and a repeated call returns the same ids.
        """
        self.app.tasks.require(task)
        dumps = jsonvalue.dumps
        if idempotency_key is None:
            return self._insert([NewJob(task, dumps(value), QUEUED) for value in inputs])
        return self._insert(
            [
                NewJob(task, dumps(value), QUEUED, None, f"{idempotency_key}/{i}")
                for i, value in enumerate(inputs)
            ]
        )

    def submission(
        self,
        task: str,
        input: Any = None,
        *,
        start_later: bool = False,
        idempotency_key: str | None = None,
    ) -> Submission:
        """Check and encode a job for ``submit`` (UnknownTaskError, InvalidInputError)."""
        self.app.tasks.require(task)
        status = START_LATER if start_later else QUEUED
        return Submission(task, input, jsonvalue.dumps(input), status, idempotency_key)

    def submit(self, submissions: Sequence[Submission]) -> list[Job]:
        """Store the submissions in one transaction and return the jobs as committed.

        The jobs are built from what was committed, not read back, so an error
        after the commit cannot make a stored job look refused. A submission
        with an idempotency key answers with the job stored under that key,
        which may be an earlier one: those are read back after the commit, all
        in one read when their ids are close together (the usual case).
        """
        now = self.clock.now()
        rows = [
            NewJob(s.task, s.input_json, s.status, None, s.idempotency_key) for s in submissions
        ]
        ids = self._insert(rows, now)
        keyed = [job_id for job_id, s in zip(ids, submissions, strict=True) if s.idempotency_key]
        stored = self._read_back(keyed) if keyed else {}
        service = str(self.ref)
        return [
            stored[job_id]
            if s.idempotency_key
            else Job(job_id, service, s.task, s.input, s.status, created=now)
            for job_id, s in zip(ids, submissions, strict=True)
        ]

    def add_cron_job(
        self,
        task: str,
        input: Any = None,
        *,
        minute: Iterable[int] = (),
        hour: Iterable[int] = (),
        day_of_month: Iterable[int] = (),
        month: Iterable[int] = (),
        day_of_week: Iterable[int] = (),
        delay: float | None = None,
        cron: str | None = None,
        timezone: str = "UTC",
    ) -> int:
        """Add a cron job (status ``cronjob``) or, with ``delay``, a one-shot ``delayed`` job.

        Its next call time is set by the next processing pass, from that pass's ``now``.
        """
        schedule = Schedule(
            minute=tuple(minute),
            hour=tuple(hour),
            day_of_month=tuple(day_of_month),
            month=tuple(month),
            day_of_week=tuple(day_of_week),
            delay=delay,
            cron=cron,
            timezone=timezone,
        )
        status = DELAYED if schedule.is_delay else CRONJOB
        job_id = self._insert([self._new_job(task, input, status, schedule, None)])[0]
        self._schedule_changed()
        return job_id

    def update_cron_job(self, job_id: int, **fields: Any) -> Schedule:
        """Change a cron or delayed job's schedule and reschedule it; return the new schedule."""
        unknown = set(fields) - _SCHEDULE_FIELDS
        if unknown:
            raise InvalidScheduleError(f"unknown schedule fields: {', '.join(sorted(unknown))}")
        job = self.job(job_id)
        if job.schedule is None or job.status not in (CRONJOB, DELAYED):
            raise InvalidStatusError(f"job {job_id} is {job.status}, not a waiting cron job")
        if "cron" in fields and fields["cron"] is not None:
            base = Schedule(cron=fields["cron"])
        elif any(name in fields for name in FIELD_SETS):
            # Field sets are always UTC: a crontab's timezone does not carry over.
            base = dataclasses.replace(job.schedule, cron=None, delay=None, timezone="UTC")
        else:
            base = job.schedule
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()
        }
        schedule = dataclasses.replace(base, **values)
        if not self.store.set_schedule(self.ref, job_id, jsonvalue.dumps(schedule.to_json())):
            raise InvalidStatusError(f"job {job_id} is no longer a waiting cron job")
        self._schedule_changed()
        return schedule

    def reschedule(self, job_id: int) -> bool:
        """Recompute the next call time of a cron or delayed job on the next pass."""
        moved = self.store.set_schedule(self.ref, job_id, None)
        self._schedule_changed()
        return moved

    def start_job(self, job_id: int) -> bool:
        """Queue a ``start later`` job; True the first time, False afterwards."""
        started = self.store.transition(
            self.ref, job_id, frozenset({START_LATER}), QUEUED, self.clock.now()
        )
        if started:
            self._wake()
        return started

    def cancel(self, job_id: int) -> bool:
        """Cancel a waiting job at once, or ask a running one to stop; report whether it did."""
        if self.store.transition(self.ref, job_id, CANCELLABLE, CANCELLED, self.clock.now()):
            return True
        return self.store.request_cancel(self.ref, job_id)

    def clean(self, statuses: Iterable[Status | str] = FINISHED) -> int:
        """Remove finished jobs with these statuses; return how many were removed."""
        wanted = frozenset(str(value) for value in statuses)
        refused = wanted - FINISHED
        if refused:
            raise InvalidStatusError(
                f"clean removes only {', '.join(sorted(FINISHED))} jobs, "
                f"not {', '.join(sorted(refused))}"
            )
        return self.store.delete_jobs(self.ref, frozenset(Status(value) for value in wanted))

    def _new_job(
        self,
        task: str,
        input: Any,
        status: Status,
        schedule: Schedule | None,
        idempotency_key: str | None,
    ) -> NewJob:
        self.app.tasks.require(task)
        schedule_json = None if schedule is None else jsonvalue.dumps(schedule.to_json())
        return NewJob(task, jsonvalue.dumps(input), status, schedule_json, idempotency_key)

    def _insert(self, jobs: list[NewJob], now: float | None = None) -> list[int]:
        ids = self.store.insert_jobs(self.ref, jobs, self.clock.now() if now is None else now)
        self._wake()
        self.app.notify_submitted(self.ref, [job.task for job in jobs])
        return ids

    # -- reading ----------------------------------------------------------------------

    def job(self, job_id: int) -> Job:
        """The job, or JobNotFoundError if this service has no such job."""
        job = self.store.get_job(self.ref, job_id)
        if job is None:
            raise JobNotFoundError(f"no job {job_id} in service {self.ref}")
        return job

    def status(self, job_id: int) -> Status:
        return self.job(job_id).status

    def _read_back(self, ids: list[int]) -> dict[int, Job]:
        """Jobs just committed, in one read if their ids span a short range.

        The read is tried three times: the rows are surely there, and a failed
        read must not turn a stored job into an error answer.
        """
        low, high = min(ids), max(ids)
        for pause in (0.05, 0.2, None):
            try:
                if high - low < 2 * len(ids) + 8:
                    query = JobQuery(newest_first=False, after_id=low - 1, limit=high - low + 1)
                    found = {job.id: job for job in self.list_jobs(query)}
                else:
                    found = {job_id: self.job(job_id) for job_id in set(ids)}
                return {job_id: found.get(job_id) or self.job(job_id) for job_id in ids}
            except StoreError:
                if pause is None:
                    raise
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def result(self, job_id: int) -> Any:
        """The job's result; None until it completed."""
        return self.job(job_id).result

    def error(self, job_id: int) -> str | None:
        """The job's error message; None when there is none."""
        return self.job(job_id).error

    @property
    def jobs(self) -> Mapping[int, Job]:
        """Every job of the service by id, read from the store on access."""
        return JobMapping(self)

    def list_jobs(self, query: JobQuery | None = None) -> list[Job]:
        return self.store.list_jobs(self.ref, query or JobQuery())

    def job_summaries(self, query: JobQuery, max_chars: int) -> list[tuple[Job, tuple[str, ...]]]:
        """``list_jobs`` for lists people or clients page through: values longer than
        ``max_chars`` are left out (None) and named, so a page of huge jobs stays small."""
        return self.store.list_job_summaries(self.ref, query, max_chars)

    def counts(self) -> dict[Status, int]:
        return self.store.count_by_status(self.ref)

    def cron_runs(self, job_id: int, limit: int = 50) -> list[CronRun]:
        return self.store.cron_runs(self.ref, job_id, limit)

    def throughput(self, since: float) -> dict[int, int]:
        """Jobs completed or failed per whole minute from ``since`` on (0 is the first)."""
        return self.store.finished_per_minute(self.ref, since)

    # -- synchronous processing -------------------------------------------------------

    def has_jobs_waiting(self, now: float | None = None) -> bool:
        """Whether a job or cron firing is due at ``now`` (scheduling new cron jobs first)."""
        return self.runner.has_due(self.clock.now() if now is None else now)

    def process_next(self, now: float | None = None) -> bool:
        """Run the next due cron firing or job in this thread; report whether one ran."""
        now = self.clock.now() if now is None else now
        for firing in self.runner.fire_due(now, limit=1):
            self.runner.run_firing(firing, now)
            return True
        for claim in self.runner.claim(now, 1):
            self.runner.run(claim, now)
            return True
        return False

    def process(self, now: float | None = None) -> int:
        """Run every due job in this thread, as the original's ``process(now)``; return how many."""
        count = 0
        while self.process_next(now):
            count += 1
        return count

    # -- operator verbs (used by the HTTP API, CLI and UI) ----------------------------

    def retry(self, job_id: int) -> bool:
        """Queue an ``error`` job again; True if it was requeued, False if it is not in error.

        Its attempts are reset to 0 (the task's retry policy applies afresh) and its
        error, traceback and result are cleared. A failed cron job cannot be retried:
        it keeps its schedule and fires again by itself.
        """
        job = self.job(job_id)
        if job.schedule is not None and not job.schedule.is_delay:
            raise InvalidStatusError(f"job {job_id} is a cron job; it runs again on schedule")
        retried = self.store.retry_job(self.ref, job_id)
        if retried:
            self._wake()
        return retried

    def delete(self, job_id: int) -> bool:
        """Remove one finished job; True if removed, False if it is not finished yet."""
        self.job(job_id)
        return self.store.delete_job(self.ref, job_id)

    def wait(self, job_id: int, timeout: float | None = None) -> Job:
        """Block until the job is finished and return it; TimeoutError after ``timeout`` s."""
        waits = pauses(timeout, cap=0.2)
        while (job := self.job(job_id)).status not in FINISHED:
            pause = next(waits, None)
            if pause is None:
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout} s")
            time.sleep(pause)
        return job

    def cancel_all(self) -> int:
        """Cancel every waiting job (running ones are not touched); return how many."""
        return self.store.cancel_waiting(self.ref, self.clock.now())

    # -- background processing --------------------------------------------------------

    def start_processing(self, processor: ProcessorKind | None = None) -> None:
        """Start the processing thread ``remotetasks.<site>.<Service>`` (no-op if running)."""
        with self._processor_lock:
            if self._processor is not None and self._processor.running:
                return
            kind = processor or self.app.settings.processor
            self._processor = Processor(self.runner, kind)
            self._processor.start()

    def stop_processing(self, grace: float | None = None, wait: bool = False) -> None:
        """Stop claiming at once; running jobs get ``grace`` seconds, then go back to the queue."""
        with self._processor_lock:
            processor = self._processor
        if processor is not None:
            processor.stop(self.app.settings.shutdown_grace if grace is None else grace)
            if wait:
                processor.join()

    def is_processing(self) -> bool:
        return self._processor is not None and self._processor.running

    # -- what the processing thread hears from the verbs ------------------------------

    def _context(self, job: Job, key: str) -> JobContext:
        return JobContext(self, job.id, job.attempts, self.store, key)

    def _wake(self) -> None:
        processor = self._processor
        if processor is not None:
            processor.wake()

    def _schedule_changed(self) -> None:
        processor = self._processor
        if processor is not None:
            processor.schedule_changed()


class JobMapping(Mapping[int, Job]):
    """Read-only mapping of a service's jobs; every access reads the store."""

    def __init__(self, service: TaskService) -> None:
        self._service = service

    def __getitem__(self, job_id: int) -> Job:
        job = self._service.store.get_job(self._service.ref, job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def __iter__(self) -> Iterator[int]:
        return iter(self._service.store.job_ids(self._service.ref))

    def __len__(self) -> int:
        return sum(self._service.store.count_by_status(self._service.ref).values())
