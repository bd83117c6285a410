"""TaskService: the one place that owns the job verbs, and the context a task receives.

Every transport (HTTP, XML-RPC, UI, CLI) is a thin adapter over these
methods. Times are epoch seconds; ``now`` arguments let tests and the
original's examples drive time without sleeping. Running jobs is the
``Runner``'s work, and the processing thread's when it runs in the background.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

from remotetask import jsonvalue
from remotetask.clock import Clock, pauses
from remotetask.console import ConsoleVerbs
from remotetask.engine import Engine
from remotetask.errors import (
    InvalidInputError,
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
from remotetask.schedule import FIELD_SETS, Schedule, ScheduleFields
from remotetask.settings import ProcessorKind
from remotetask.store import Inserted, NewJob, Store
from remotetask.tasks import Task


@dataclass(frozen=True, slots=True)
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
        """Whether someone asked to cancel this job, or this run lost its claim to another.

        A task should return soon when it is. A run loses its claim when its worker
        was frozen past the lease: the job is run elsewhere and this result is refused.
        """
        return self.service.lost_lease(self._key) or self._store.cancel_requested(self.job_id)


class TaskService(ConsoleVerbs):
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
        return self._insert([self._new_job(task, input, status, None, idempotency_key)]).ids[0]

    def add_many(
        self, task: str, inputs: Iterable[Any], *, idempotency_key: str | None = None
    ) -> list[int]:
        """Queue one job per input in a single transaction (bulk enqueue).

        Every input is checked first: one invalid input adds none of them
        (InvalidInputError, its field locations starting with the input's index).
        With ``idempotency_key`` the batch is stored once: job ``i`` gets the key
        ``f"{idempotency_key}/{i}"``, and a repeated call returns the same ids.
        """
        encode = self.app.tasks.require(task).encode_input
        jobs = []
        for index, value in enumerate(inputs):
            key = None if idempotency_key is None else f"{idempotency_key}/{index}"
            try:
                jobs.append(NewJob(task, encode(value), QUEUED, None, key))
            except InvalidInputError as exc:
                raise exc.at(index) from None
        return self._insert(jobs).ids

    def submission(
        self,
        task: str,
        input: Any = None,
        *,
        start_later: bool = False,
        idempotency_key: str | None = None,
    ) -> Submission:
        """Check and encode a job for ``submit`` (UnknownTaskError, InvalidInputError)."""
        registered = self.app.tasks.require(task)
        input_json = registered.encode_input(input)
        if registered.input_codec is not None:  # stored as its type encodes it
            input = jsonvalue.loads(input_json)
        status = START_LATER if start_later else QUEUED
        return Submission(task, input, input_json, status, idempotency_key)

    def submit(self, submissions: Sequence[Submission]) -> list[Job]:
        """Store the submissions in one transaction and return the jobs as committed.

        The jobs are built from what was committed, not read back, so an error
        after the commit cannot make a stored job look refused. A submission
        whose idempotency key was already used answers with the job stored
        under that key: only those are read back, after the commit.
        """
        now = self.clock.now()
        rows = [
            NewJob(s.task, s.input_json, s.status, None, s.idempotency_key) for s in submissions
        ]
        inserted = self._insert(rows, now)
        reused = inserted.reused
        earlier = self._read_back([inserted.ids[n] for n in reused]) if reused else {}
        service = str(self.ref)
        return [
            earlier[job_id]
            if n in reused
            else Job(job_id, service, s.task, s.input, s.status, created=now)
            for n, (job_id, s) in enumerate(zip(inserted.ids, submissions, strict=True))
        ]

    def add_cron_job(self, task: str, input: Any = None, **schedule: Unpack[ScheduleFields]) -> int:
        """Add a cron job (status ``cronjob``) or, with ``delay``, a one-shot ``delayed`` job.

        The schedule's keywords: ``minute``, ``hour``, ``day_of_month``, ``month``,
        ``day_of_week`` (sets of ints), ``delay`` (seconds), ``cron`` and ``timezone``
        (see ``Schedule``). Its next call time is set by the next processing pass, from
        that pass's ``now``.
        """
        new = Schedule.of(**schedule)
        status = DELAYED if new.is_delay else CRONJOB
        job_id = self._insert([self._new_job(task, input, status, new, None)]).ids[0]
        self._schedule_changed()
        return job_id

    def update_cron_job(self, job_id: int, **schedule: Unpack[ScheduleFields]) -> Schedule:
        """Replace a waiting cron or delayed job's whole schedule and reschedule it.

        The original's ``job.update(...)`` followed by ``service.reschedule(id)``: what
        is not given takes its default, as in ``add_cron_job``, so
        ``update_cron_job(id, minute=(5,))`` drops an hour set before. A cron job stays
        a cron job and a delayed job stays delayed. ``change_cron_job`` keeps the rest.
        """
        return self._replace_schedule(self._waiting_cron_job(job_id), Schedule.of(**schedule))

    def change_cron_job(self, job_id: int, **fields: Unpack[ScheduleFields]) -> Schedule:
        """Change only the schedule fields given, keep the others, and reschedule the job.

        Not in the original (its ``update`` replaced everything; see ``update_cron_job``).
        Giving ``cron`` drops the field sets; giving a field set drops a crontab
        expression and its timezone, since field sets are always UTC.
        """
        job = self._waiting_cron_job(job_id)
        assert job.schedule is not None
        kept: dict[str, Any] = job.schedule.to_json()
        if fields.get("cron") is not None:
            kept = {}
        elif any(name in fields for name in FIELD_SETS):
            kept = {name: kept[name] for name in FIELD_SETS}
        return self._replace_schedule(job, Schedule.of(**{**kept, **fields}))

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

    def _waiting_cron_job(self, job_id: int) -> Job:
        job = self.job(job_id)
        if job.schedule is None or job.status not in (CRONJOB, DELAYED):
            raise InvalidStatusError(f"job {job_id} is {job.status}, not a waiting cron job")
        return job

    def _replace_schedule(self, job: Job, schedule: Schedule) -> Schedule:
        """Store a job's new schedule; its next call time comes from the next pass."""
        if schedule.is_delay != (job.status == DELAYED):
            raise InvalidScheduleError(
                f"job {job.id} is delayed and stays so: give a delay, or cancel it and add "
                "a cron job"
                if job.status == DELAYED
                else f"job {job.id} is a cron job and stays one: a delay is for a one-shot "
                "job; cancel it and add a delayed job"
            )
        if not self.store.set_schedule(self.ref, job.id, jsonvalue.dumps(schedule.to_json())):
            raise InvalidStatusError(f"job {job.id} is no longer a waiting cron job")
        self._schedule_changed()
        return schedule

    def _new_job(
        self,
        task: str,
        input: Any,
        status: Status,
        schedule: Schedule | None,
        idempotency_key: str | None,
    ) -> NewJob:
        input_json = self.app.tasks.require(task).encode_input(input)
        schedule_json = None if schedule is None else jsonvalue.dumps(schedule.to_json())
        return NewJob(task, input_json, status, schedule_json, idempotency_key)

    def _insert(self, jobs: list[NewJob], now: float | None = None) -> Inserted:
        inserted = self.store.insert_jobs(self.ref, jobs, self.clock.now() if now is None else now)
        self._wake()
        self.app.notify_submitted(self.ref, [job.task for job in jobs])
        return inserted

    # -- reading ----------------------------------------------------------------------

    @property
    def reads_never_wait(self) -> bool:
        """Whether reading a job is quick and never waits for a writer (see the store's)."""
        return self.store.reads_never_wait

    def job(self, job_id: int) -> Job:
        """The job, or JobNotFoundError if this service has no such job."""
        job = self.store.get_job(self.ref, job_id)
        if job is None:
            raise JobNotFoundError(f"no job {job_id} in service {self.ref}")
        return job

    def status(self, job_id: int) -> Status:
        return self.job(job_id).status

    def _read_back(self, ids: list[int]) -> dict[int, Job]:
        """Jobs first stored under a key a submission reused, by id.

        The read is tried three times: the rows are surely there, and a failed
        read must not turn a stored job into an error answer.
        """
        for pause in (0.05, 0.2, None):
            try:
                return {job_id: self.job(job_id) for job_id in set(ids)}
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

    def lost_lease(self, key: str) -> bool:
        """Whether this process's run holding claim ``key`` was taken back (see ``Processor``)."""
        processor = self._processor
        return processor is not None and processor.lost_lease(key)

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
