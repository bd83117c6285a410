"""The storage contract every backend implements (SQLite, PostgreSQL).

Each verb is one atomic step: it either happens entirely or not at all, and the
docstring says what it is guarded by. The service above never holds a database
transaction open while a task runs; a task's result is written by ``finish``,
which only succeeds for the claim that is still current.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from remotetask.auth import Role, Token
from remotetask.failures import AttemptError, ErrorGroup
from remotetask.jobs import CronRun, Job, JobQuery, Outcome, Status
from remotetask.refs import ServiceRef
from remotetask.workers import WorkerInfo


class NewJob(NamedTuple):
    """What ``insert_jobs`` stores: input and schedule already encoded as JSON text.

    A tuple, for a bulk add builds one per job (a third of a frozen dataclass's cost),
    and a batch of them is sent to the database as JSON as it is: each job an array of
    its fields in this order.
    """

    task: str
    input_json: str
    status: Status
    schedule_json: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Inserted:
    """What ``insert_jobs`` did: each job's id in order, and which ids it did not store."""

    ids: list[int]
    reused: frozenset[int] = frozenset()
    """Positions whose idempotency key was already taken (earlier, or earlier in the batch):
    their id is the first job's, whose task and input may differ from this one's."""


class Claim(NamedTuple):
    """A job this worker now runs, with the key that proves it is still the owner.

    This record and the others made for every job run (``Finish``, ``Ran``) are tuples:
    a frozen dataclass's fields are set one call each, three times the cost.
    """

    job: Job
    key: str


class Finish(NamedTuple):
    """How one run ended, for ``finish_many``: written only if ``key`` is still its claim."""

    job_id: int
    key: str
    outcome: Outcome
    ended: float


class Store(Protocol):
    """Domain-level storage verbs; every query is scoped to one service."""

    reads_never_wait: bool
    """Whether reading a job takes microseconds and never waits for a writer, so async
    code may read it without a thread (a SQLite file in WAL mode; not a database across
    a network, nor the one shared in-memory connection)."""

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    def ensure_service(self, ref: ServiceRef) -> None:
        """Create the service if it does not exist (idempotent)."""

    def services(self) -> list[ServiceRef]:
        """Every service, ordered by site then name."""

    def insert_jobs(self, ref: ServiceRef, jobs: Sequence[NewJob], now: float) -> Inserted:
        """Store all jobs in one transaction and return their ids in order.

        A job whose idempotency key is already used in this service is not
        stored again: the id of the first one is returned in its place, and its
        position is in ``reused``.
        """

    def get_job(self, ref: ServiceRef, job_id: int) -> Job | None:
        """The job, or None if it does not exist in this service."""

    def job_ids(self, ref: ServiceRef) -> list[int]:
        """Ids of every job of the service, ascending."""

    def list_jobs(self, ref: ServiceRef, query: JobQuery) -> list[Job]:
        """A page of jobs matching ``query``."""

    def list_job_summaries(
        self, ref: ServiceRef, query: JobQuery, max_chars: int
    ) -> list[tuple[Job, tuple[str, ...]]]:
        """``list_jobs``, but an input, result, error or traceback longer than ``max_chars``
        is not read: it comes back as None, and its name (``"input"``, …) in the tuple."""

    def count_by_status(self, ref: ServiceRef) -> dict[Status, int]:
        """How many jobs of each status the service holds (absent statuses omitted)."""

    def transition(
        self, ref: ServiceRef, job_id: int, sources: frozenset[Status], target: Status, now: float
    ) -> bool:
        """Move the job to ``target`` if its status is in ``sources``; report whether it moved.

        Moving to a finished status stamps ``ended``.
        """

    def request_cancel(self, ref: ServiceRef, job_id: int) -> bool:
        """Raise the cancel flag of a ``processing`` job; report whether it was processing."""

    def cancel_requested(self, job_id: int) -> bool:
        """Whether the cancel flag of the job is raised."""

    def delete_jobs(self, ref: ServiceRef, statuses: frozenset[Status]) -> int:
        """Delete the service's jobs with these statuses; return how many."""

    def set_schedule(self, ref: ServiceRef, job_id: int, schedule_json: str | None) -> bool:
        """Replace the schedule of a cron or delayed job and clear its next call time.

        With ``schedule_json`` None only the next call time is cleared (reschedule).
        Returns False if the job is not a waiting cron or delayed job.
        """

    def unscheduled(self, ref: ServiceRef) -> list[Job]:
        """Waiting cron and delayed jobs that have no next call time yet."""

    def set_next_call(self, job_id: int, next_call: float | None) -> bool:
        """Set the next call time of a job that has none (guarded by ``next_call IS NULL``).

        A None ``next_call`` (nothing due within the horizon) is stored as the
        far-future sentinel so the job is not scheduled again on every pass.
        """

    def claim(
        self, ref: ServiceRef, now: float, limit: int, worker: str, lease_until: float
    ) -> list[Claim]:
        """Take up to ``limit`` due queued or delayed jobs, oldest first, in one transaction.

        Each becomes ``processing`` with its attempt counted, a lease until
        ``lease_until`` and a fresh claim key. No two callers get the same job.
        """

    def finish(
        self, job_id: int, key: str, outcome: Outcome, now: float, *, expired_only: bool = False
    ) -> bool:
        """Write how a run ended, only if ``key`` is still the job's claim.

        With ``expired_only`` the write also requires the lease to have run out
        before ``now`` (how a rescuer avoids overwriting a live run).
        """

    def finish_many(
        self,
        finishes: Sequence[Finish],
        ref: ServiceRef,
        limit: int,
        worker: str,
        now: float,
        lease_until: float,
    ) -> tuple[list[bool], list[Claim] | None]:
        """Store finished runs in one commit, then claim up to ``limit`` next jobs of ``ref``.

        Each finish is ``finish`` of its own job and is guarded by its own claim key:
        the flags say which were stored. The finishes are durable when this returns.
        The claim (as ``claim``, with ``now`` and ``lease_until``) may share their
        commit; where it does not and it fails, the finishes stand and the claims are
        ``None`` (no job claimed, and nothing learnt of the queue).
        """

    def release(self, job_id: int, key: str) -> bool:
        """Give a claimed job back to the queue without counting the attempt."""

    def renew_leases(
        self, jobs: Sequence[tuple[int, str]], runs: Sequence[tuple[int, str]], lease_until: float
    ) -> set[str]:
        """Extend the leases of (job id, key) claims and (run id, key) cron runs.

        Only rows whose key still matches are touched; returns the keys that no
        longer matched (runs taken back, e.g. while this worker was frozen).
        """

    def expired_claims(self, ref: ServiceRef, now: float) -> list[Claim]:
        """Processing jobs whose lease ran out before ``now`` (their worker is gone)."""

    def report_progress(self, job_id: int, key: str, fraction: float, message: str | None) -> bool:
        """Store a running job's progress, if ``key`` is still its claim."""

    def due_cron_jobs(self, ref: ServiceRef, now: float) -> list[Job]:
        """Cron jobs whose next call time is at or before ``now``."""

    def fire_cron(
        self,
        job_id: int,
        scheduled_for: float,
        next_call: float | None,
        now: float,
        lease_until: float,
    ) -> tuple[CronRun, str] | None:
        """Record one firing and advance the job's next call, in one transaction.

        Exactly once per (job, ``scheduled_for``) however many callers try: the
        run row is unique, and the advance is guarded by the old next call time.
        Returns the run and its claim key, or None if another caller won or
        the job changed.
        """

    def finish_cron_run(self, run_id: int, key: str, outcome: Outcome, now: float) -> bool:
        """End a cron run and copy its result or error onto the cron job.

        Guarded by the run's claim key. A ``queued`` outcome does not end the run: it
        waits, unclaimed, to be tried again at ``outcome.next_call``. Either way the
        cron job's attempts count one more run.
        """

    def claim_cron_retries(
        self, ref: ServiceRef, now: float, limit: int, lease_until: float
    ) -> list[tuple[Job, CronRun, str]]:
        """Claim up to ``limit`` cron runs whose retry is due, with a fresh key each.

        Each claimed run counts one more attempt; no two callers get the same run.
        A due run whose cron job is no longer a ``cronjob`` (cancelled) ends instead.
        """

    def cron_runs(self, ref: ServiceRef, job_id: int, limit: int = 50) -> list[CronRun]:
        """The latest runs of a cron job, newest first."""

    def has_due(self, ref: ServiceRef, now: float) -> bool:
        """Whether a queued, delayed or cron job, or a cron retry, is due at ``now``.

        Cron and delayed jobs count only once scheduled (their next call time set).
        """

    def fail_expired_cron_runs(self, ref: ServiceRef, now: float, error: str) -> int:
        """End cron runs whose lease ran out before ``now`` with ``error``; return how many."""

    def migrate(self) -> int:
        """Apply pending schema migrations; return how many were applied."""

    def schema_version(self) -> int:
        """The schema version the database is at (0 for an empty database)."""

    def latest_schema_version(self) -> int:
        """The schema version this remotetask needs (its newest migration)."""

    def health(self) -> dict[str, float]:
        """Gauges about the database itself, by name (see ``sql_health``; they differ by backend).

        PostgreSQL: the oldest other transaction holding back vacuum (seconds and
        transaction ids) and the jobs table's dead and live rows and bytes; SQLite:
        the database, free and write-ahead-log bytes.
        """

    def probe_write(self) -> None:
        """Commit a write that changes nothing, to learn whether writes work (readiness).

        Raises StoreError when they do not (a full disk, a read-only file, no server).
        """

    def next_due(self, ref: ServiceRef) -> float | None:
        """The earliest time at which a job, a cron firing or a cron retry becomes due."""

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(service_ref)`` soon after jobs are added anywhere (a hint only).

        Backends without notifications do nothing; callers keep polling either way.
        """

    def prune(self, ref: ServiceRef, status: Status, older_than: float, batch: int) -> int:
        """Delete up to ``batch`` jobs with finished ``status`` that ended before ``older_than``.

        One short transaction per call; returns how many were deleted.
        """

    def register_worker(self, worker: WorkerInfo) -> None:
        """Record a worker process (replacing a stale row of the same name)."""

    def heartbeat_worker(self, name: str, now: float) -> bool:
        """Stamp the worker's heartbeat; False if its row is gone."""

    def remove_worker(self, name: str) -> bool:
        """Forget a worker that stopped cleanly."""

    def workers(self) -> list[WorkerInfo]:
        """Every recorded worker, by name."""

    # -- verbs the remote service added: operator actions, gauges, API tokens ----------

    def retry_job(self, ref: ServiceRef, job_id: int, input_json: str | None = None) -> bool:
        """Queue an ``error`` job again with attempts, error and result cleared; False otherwise.

        With ``input_json`` the job's input is replaced too (edit and retry).
        """

    def delete_job(self, ref: ServiceRef, job_id: int) -> bool:
        """Delete one finished job (and its cron runs); False if it is not finished."""

    def cancel_waiting(self, ref: ServiceRef, now: float) -> int:
        """Cancel every waiting job of the service in one transaction; return how many."""

    def status_counts(self) -> dict[tuple[ServiceRef, Status], int]:
        """Jobs per (service, status) across all services."""

    def insert_token(
        self,
        name: str,
        secret_hash: str,
        role: Role,
        sites: Sequence[str],
        now: float,
        expires: float | None,
    ) -> Token:
        """Store a token by the hash of its secret and return it."""

    def token_by_hash(self, secret_hash: str) -> Token | None:
        """The token whose secret has this SHA-256 hex digest, revoked or not."""

    def list_tokens(self) -> list[Token]:
        """Every token, oldest first."""

    def revoke_token(self, token_id: int, now: float) -> bool:
        """Revoke a token; False if it does not exist or is already revoked."""

    def touch_token(self, token_id: int, now: float) -> None:
        """Record when a token was last used."""

    def count_tokens(self) -> int:
        """How many tokens exist, revoked ones included."""

    # -- verbs of the operator's console ------------------------------------------------

    def find_job(self, job_id: int) -> Job | None:
        """The job with this id in whichever service holds it (ids are global)."""

    def schedule_board(
        self,
        refs: Sequence[ServiceRef],
        search: str | None,
        after: int | None,
        limit: int,
    ) -> list[Job]:
        """Waiting cron and delayed jobs of these services, soonest next call first.

        Unscheduled ones (no next call yet) come first, paused ones last; ``after`` is
        the id of the previous page's last job.
        """

    def set_paused(self, ref: ServiceRef, job_id: int, paused: bool) -> bool:
        """Pause (no firing until resumed) or resume a cron job; False if nothing changed.

        Resuming clears the next call, so the next pass schedules it from its ``now``
        (missed firings are not made up).
        """

    def run_delayed_now(self, ref: ServiceRef, job_id: int, now: float) -> bool:
        """Make a delayed job due at ``now`` instead of later; False if it is not delayed."""

    def attempt_errors(self, ref: ServiceRef, job_id: int) -> list[AttemptError]:
        """Every failed run of the job, oldest first (kept when the job is retried)."""

    def error_groups(self, ref: ServiceRef, limit: int) -> list[ErrorGroup]:
        """The service's errored jobs grouped by task, exception type and normalised message."""

    def retry_error_group(
        self, ref: ServiceRef, task: str, error_type: str | None, pattern: str
    ) -> int:
        """Queue again every errored job of one group (as ``retry_job``); return how many."""

    def delete_error_group(
        self, ref: ServiceRef, task: str, error_type: str | None, pattern: str
    ) -> int:
        """Delete every errored job of one group; return how many."""

    def capped_counts(
        self, ref: ServiceRef, cap: int, task: str | None = None
    ) -> dict[Status, int]:
        """Jobs per status counted up to ``cap`` each, so no count reads all history.

        With ``task``, the statuses of that task's newest ``cap`` jobs; an empty
        mapping when it has more.
        """

    def finished_by_minute(self, ref: ServiceRef, since: float) -> dict[int, tuple[int, int]]:
        """(completed, errored) jobs per whole minute from ``since`` on (0 is the first).

        Minutes without any job are omitted; cancelled jobs are not counted.
        """

    def cron_run_page(
        self, ref: ServiceRef, job_id: int, limit: int, before: float | None
    ) -> list[CronRun]:
        """Runs of a cron job scheduled before ``before``, newest first."""

    def recent_runs(self, job_ids: Sequence[int], per_job: int) -> dict[int, list[CronRun]]:
        """The latest runs of each job, newest first, in one query."""

    # -- UI sessions and failed logins -------------------------------------------------

    def insert_session(self, id_hash: str, csrf: str, sealed_token: str, now: float) -> None:
        """Store a new logged-in session."""

    def get_session(self, id_hash: str) -> tuple[str, str, float, float, list[str]] | None:
        """(csrf, sealed token, created, seen, flashes) of a session, or None."""

    def touch_session(self, id_hash: str, now: float) -> None:
        """Record that the session was used at ``now``."""

    def set_flashes(self, id_hash: str, flashes: list[str]) -> None:
        """Replace the messages waiting for the session's next page."""

    def delete_session(self, id_hash: str) -> None:
        """End a session."""

    def prune_sessions(self, seen_before: float, created_before: float) -> int:
        """Delete sessions idle since ``seen_before`` or created before ``created_before``."""

    def count_login_failure(self, client: str, now: float, window: float) -> int:
        """Record a failed login of ``client``; return its failures in the current window."""

    def login_failures(self, client: str, now: float, window: float) -> tuple[int, float]:
        """Failures of ``client`` in its current window and when that window began."""
