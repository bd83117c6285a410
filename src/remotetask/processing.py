"""The processing thread of a service: when and where its jobs run, not how.

One thread per service (named ``remotetasks.<site>.<Service>``) finds work and
hands it to a pool of worker threads, one slot per job; a slot is taken before
anything is claimed. Each run goes through the service's ``Runner``; this module
keeps the runs' leases renewed, enforces task timeouts, recovers runs whose
worker vanished, prunes old jobs, and on stop lets running jobs finish within
the grace period before giving them back.

Ended runs are stored in group commits (``finishing.py``), and while runs are
short the processor holds up to ``CLAIM_AHEAD`` jobs claimed beyond its threads,
so that a worker thread goes from one job to the next without waiting for a
commit. Claimed-ahead jobs are taken in id order (the simple processor still runs
one job at a time, oldest first), given back on a graceful stop, and recovered
by their lease after a crash (docs/reliability.md).

Python runs one thread at a time, so short runs that keep their thread on the CPU
gain nothing from a second thread: the two would only take turns, and make the
commit thread wait its turn too. While runs are like that, one worker thread works
through the claimed jobs and the others stay free; a run that waits (on I/O, a
sleep, a lock), or one that lasts longer than ``SHORT_RUN_S``, brings the other
threads in (the processing thread looks every ``SHORT_RUN_S`` while jobs wait). A
thread abandoned at a timeout no longer counts as the one working through them.

A claim that brings fewer jobs than it asked for found the queue empty, and a job added
since wakes the processor: until then, or until it looks at schedules again (which also
catches jobs that became due, were recovered, or were queued elsewhere without a
wake-up), it claims nothing: neither the processing thread, whose claim would race a
run's commit for the write lock, nor the commit itself, which then stores the run alone.

A Python thread cannot be killed, so a run given up at its task's timeout leaves
its thread running: the slot is handed back at once and the thread is abandoned
(its late result is refused), up to ``MAX_ABANDONED_THREADS`` per service. See
"Timeouts" in docs/guide.md for why this rather than a child process per run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from remotetask.errors import StoreError
from remotetask.finishing import GroupCommit
from remotetask.maintenance import PRUNE_EVERY_S, heartbeat, prune_finished, register_worker
from remotetask.runner import Firing, Ran, Runner
from remotetask.settings import ProcessorKind
from remotetask.store import Claim

log = logging.getLogger("remotetask")

COMMIT_BATCH = 256
"""Most ended runs stored in one group commit (a larger group spreads each commit's fixed
cost wider: 256 against 64 drained 1.2-1.25x as fast on both backends in one run)."""
CLAIM_AHEAD = 2 * COMMIT_BATCH
"""Jobs claimed beyond the threads while runs are short: one batch runs while one commits."""
SHORT_RUN_S = 0.005
"""A run shorter than this makes claiming ahead worth it (it holds back little work)."""
ON_CPU_SHARE = 0.5
"""A run whose thread was on the CPU for at least this share of its time did not wait for
anything that a second thread could have used."""
LEASE_DOUBT = 0.8
"""Share of the lease after the last renewal from which claimed jobs wait for the next
one before starting: their leases may soon run out, and some may have been taken back.
The processing thread renews every third of a lease, up to a wait time later."""
FIRST_RETRY_S = 0.05
"""Wait after a processing pass failed, doubled with each failure in a row."""
MAX_ABANDONED_THREADS = 16
"""Timed-out threads a service leaves running before its timeouts stop freeing slots."""


class _Running(NamedTuple):
    """A claimed job (``run_id`` None) or cron firing (``job_id`` None) being run (a tuple,
    like the other records made for every run: see ``Claim``)."""

    job_id: int | None
    run_id: int | None
    since: float
    """``time.perf_counter()`` at its start."""


@dataclass(eq=False, slots=True)
class _Slot:
    """One job's worth of the service's capacity, held by the worker thread running in it."""

    done: threading.Event = field(default_factory=threading.Event)
    abandoned: bool = False
    """Given back at a timeout while its thread runs on."""


@dataclass(slots=True)
class _Streak:
    """The failures in a row of a step the processing thread repeats, logged so that a long
    outage stays readable: the first with its traceback, the others in a line each, and
    the first success after them."""

    what: str
    failures: int = 0

    def failed(self, exc: Exception) -> int:
        """(In the ``except`` block.) Log this failure; return the failures in a row."""
        self.failures += 1
        if self.failures == 1:
            log.exception("%s failed; tried again later", self.what)
        else:
            log.warning("%s failed again (%d in a row): %r", self.what, self.failures, exc)
        return self.failures

    def succeeded(self) -> None:
        if self.failures:
            log.warning("%s succeeded again after %d failures", self.what, self.failures)
            self.failures = 0


class Processor:
    """The processing thread of one service and its pool of worker threads."""

    def __init__(self, runner: Runner, kind: ProcessorKind) -> None:
        self._runner = runner
        self._engine = runner.engine
        self._ref = runner.ref
        self.kind = kind
        settings = self._engine.settings
        self._lease = settings.lease_seconds
        self._wait_time = settings.wait_time
        self._grace = settings.shutdown_grace
        self._stop = threading.Event()
        self._wakeup = threading.Event()
        self._schedule_changed = True
        self._running: dict[str, _Running] = {}
        self._slots: set[_Slot] = set()
        self._abandoned = 0
        self._here = threading.local()
        """``slot``: the slot the current worker thread runs in."""
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=kind.max_threads + MAX_ABANDONED_THREADS,
            thread_name_prefix=f"remotetask-worker-{self._ref}",
        )
        self._thread = threading.Thread(target=self._loop, name=self._ref.thread_name, daemon=True)
        self._last_renewal = 0.0
        self._renewed_at = 0.0
        """When the held claims' leases were last renewed (or processing started)."""
        self._last_recovery = 0.0
        self._next_schedule_check = 0.0
        self._last_prune = 0.0
        self._next_look = 0.0
        """When the processing thread looks again, unless woken (set with its idle wait)."""
        self._deadlines: dict[str, tuple[float, float, Claim, _Slot]] = {}
        """Running claims whose task has a timeout: key -> (deadline, timeout, claim, slot)."""
        self._held: dict[str, int] = {}
        """Every job claimed and not yet stored or given back: key -> job id."""
        self._ready: deque[Claim] = deque()
        """Jobs claimed ahead, not started, oldest first."""
        self._short = False
        """Whether the latest run was short (claiming ahead only pays for short runs)."""
        self._on_cpu = False
        """Whether the latest run was short and kept its thread on the CPU: one thread
        working through such runs is enough (see the module's docstring)."""
        self._queue_slots: set[_Slot] = set()
        """Slots whose threads work through the claimed jobs (not abandoned ones), counted
        from when they are sent, before their threads start."""
        self._claiming = 0
        """Jobs that claims under way may bring: they count against the bound with ``_held``."""
        self._wakes = 0
        """Wake-ups for new work so far (see the module's docstring)."""
        self._empty_as_of: int | None = None
        """``_wakes`` when a claim that came back short began: the queue was empty then."""
        self._commits = GroupCommit(
            runner, COMMIT_BATCH, self._want, self._stored, self._more_coming
        )
        self._lost: set[str] = set()
        """Keys of runs taken back while they ran here: their tasks hear "cancelled"."""
        self._asides: dict[str, _Streak] = {}
        """The failures in a row of each housekeeping step run by ``_aside``, by name."""

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        self._renewed_at = self._engine.clock.now()
        self._engine.attach(self._ref, self.wake)
        try:
            register_worker(self._engine, self._engine.clock.now())
        except StoreError as exc:
            log.warning("could not record worker %s yet: %s", self._engine.worker_name, exc)
        self._commits.start()
        self._thread.start()

    def wake(self) -> None:
        """New work may be due: end the idle wait now."""
        with self._lock:
            self._wakes += 1
        self._wakeup.set()

    def schedule_changed(self) -> None:
        """A cron or delayed job was added or changed: look at schedules on the next pass."""
        self._schedule_changed = True
        self._wakeup.set()

    def stop(self, grace: float) -> None:
        self._grace = grace
        self._stop.set()
        self._wakeup.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # -- the loop ---------------------------------------------------------------------

    def _loop(self) -> None:
        passes = _Streak(f"processing pass of {self._ref}")
        while not self._stop.is_set():
            try:
                dispatched = self._pass()
            except Exception as exc:
                failures = passes.failed(exc)
                self._stop.wait(self._retry_wait(failures))  # not cut short by wake-ups
            else:
                passes.succeeded()
                if not dispatched:
                    self._wakeup.wait(self._idle_timeout())
            self._wakeup.clear()
        self._drain()

    def _retry_wait(self, failures: int) -> float:
        """How long to wait after ``failures`` passes in a row failed: twice as long each
        time, up to the usual poll or the next run's timeout, and never less than the first
        wait. A store that fails at once (a full disk, a dropped table) would otherwise be
        asked again every millisecond, each failure logged; wake-ups do not cut it short,
        for while jobs run one comes with every run that ends."""
        now = self._engine.clock.now()
        with self._lock:
            upcoming = [entry[0] - now for entry in self._deadlines.values() if entry[0] > now]
        backoff = FIRST_RETRY_S * 2.0 ** min(failures - 1, 30)
        return max(FIRST_RETRY_S, min(backoff, self._wait_time, self._lease / 3, *upcoming))

    def _pass(self) -> bool:
        """Claim work for every free slot; report whether a slot is still free afterwards."""
        now = self._engine.clock.now()
        self._keep_leases(now)
        self._enforce_timeouts(now)
        if now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            self._aside("pruning", lambda: prune_finished(self._engine, self._ref, now))
        free = self.kind.max_threads - self._busy()
        if free <= 0:
            return False
        dispatched = 0
        if self._schedule_changed or now >= self._next_schedule_check:
            self._empty_as_of = None  # jobs may have become due, or come back, unannounced
            dispatched = self._fire_due_cron_jobs(now, free)
        room = min(free - dispatched, self._queue_room())
        if room > 0:
            claims = self._take_claims(now, room)
            for claim in claims:
                self._occupy_slot(self._work_through_queue, claim, now, on_queue=True)
            dispatched += len(claims)
        return dispatched > 0 and self._busy() < self.kind.max_threads

    def _queue_room(self) -> int:
        """How many more worker threads may start on claimed jobs (see the module's docstring)."""
        with self._lock:
            if self._one_is_enough():
                return max(0, 1 - len(self._queue_slots))
            return self.kind.max_threads

    def _one_is_enough(self) -> bool:
        """(Holding the lock.) Whether runs are short and on the CPU, and none is stuck."""
        if not self._on_cpu:
            return False
        started_by = time.perf_counter() - SHORT_RUN_S
        return all(r.since > started_by for r in self._running.values() if r.job_id is not None)

    def _take_claims(self, now: float, count: int) -> list[Claim]:
        """Up to ``count`` claimed jobs to start, claiming more unless a commit is about to."""
        with self._lock:
            empty = not self._ready
        want = self._want([]) if empty and not self._commits.busy() else 0
        if want > 0:
            claims: list[Claim] | None = None
            try:
                claims = self._runner.claim(now, want)
            finally:
                self._add_claims(claims, want)
        with self._lock:
            return [self._ready.popleft() for _ in range(min(count, len(self._ready)))]

    def _want(self, ending: list[Ran]) -> int:
        """How many jobs to claim now that the runs ``ending`` are being stored.

        Only those still held make room: a late result of a run given up at its timeout
        or taken back no longer counts against the bound.

        The number is reserved until ``_add_claims`` gives it back, so claims under way
        at once (a commit's and the processing thread's) never exceed the bound together.
        Nothing while the queue is known to be empty (see the module's docstring).
        """
        if self._stop.is_set():
            return 0
        ahead = CLAIM_AHEAD if self._short else 0
        with self._lock:
            if self._empty_as_of == self._wakes:
                return 0
            ended = sum(1 for ran in ending if ran.claim.key in self._held)
            room = self.kind.max_threads + ahead - (len(self._held) - ended) - self._claiming
            want = max(0, room)
            self._claiming += want
            self._here.wakes = self._wakes  # what the claim will see was announced by then
            return want

    def _add_claims(self, claims: list[Claim] | None, asked: int) -> None:
        """Hold the ``claims`` a claim of ``asked`` jobs brought, and end its reservation.

        ``None``: the claim failed, which says nothing of the queue (were it taken for
        empty, jobs added while the store failed would wait for the next wake-up).
        """
        with self._lock:
            self._claiming -= asked
            if claims is None:
                return
            if len(claims) < asked:
                self._empty_as_of = self._here.wakes
            self._held.update((c.key, c.job.id) for c in claims)
            self._ready.extend(claims)

    def _stored(self, runs: list[Ran], claims: list[Claim] | None, asked: int) -> None:
        """A group commit ended: its runs are no longer held, its claims are ready to run."""
        with self._lock:
            for ran in runs:
                self._held.pop(ran.claim.key, None)
        self._add_claims(claims, asked)
        self._wakeup.set()

    def _more_coming(self, waiting: int) -> bool:
        """Whether a run other than the ``waiting`` ones may end soon and join their commit."""
        with self._lock:
            return len(self._held) - waiting > 0 and (bool(self._ready) or self._busy_jobs())

    def _busy_jobs(self) -> bool:
        return any(r.job_id is not None for r in self._running.values())

    def _fire_due_cron_jobs(self, now: float, free: int) -> int:
        """Fire the due cron jobs, and note when to look at schedules again."""
        self._schedule_changed = False
        firings = self._runner.fire_due(now, free)
        for firing in firings:
            self._occupy_slot(self._fire, firing, now)
        next_due = self._runner.next_due()
        horizon = now + self._wait_time
        self._next_schedule_check = horizon if next_due is None else min(horizon, next_due)
        return len(firings)

    def _occupy_slot(self, work: Callable[..., None], *args: Any, on_queue: bool = False) -> None:
        """Run ``work`` on a worker thread; the slot is taken before anything is claimed.

        A slot ``on_queue`` (working through the claimed jobs) counts as one from now, not
        from when its thread starts: the next pass must not see room for another.
        """
        slot = _Slot()
        with self._lock:  # its thread takes the lock to give the slot back: counted first
            self._pool.submit(self._in_slot, slot, work, *args)
            self._slots.add(slot)
            if on_queue:
                self._queue_slots.add(slot)

    def _in_slot(self, slot: _Slot, work: Callable[..., None], *args: Any) -> None:
        self._here.slot = slot
        try:
            work(*args)
        finally:
            with self._lock:
                if slot.abandoned:
                    self._abandoned -= 1
                else:
                    self._slots.discard(slot)
                self._queue_slots.discard(slot)
            slot.done.set()
            self._wakeup.set()

    def _busy(self) -> int:
        with self._lock:
            return len(self._slots)

    def _work_through_queue(self, claim: Claim, now: float) -> None:
        """Run a claimed job, hand it to the group commit, then run the next claimed one.

        Taking the follow-up here, rather than going back to the processing thread,
        saves a thread hand-off per job when the queue is long.
        """
        current: Claim | None = claim
        several = self.kind.max_threads > 1  # only they ask whether one thread is enough
        while current is not None:
            if self._leases_in_doubt():
                self._hand_back(current)
                return
            ended = self._run_claimed(current, now, several)
            current, now = self._next_ready(), max(ended, self._engine.clock.now())

    def _leases_in_doubt(self) -> bool:
        """Whether the held claims went unrenewed for so long (the process froze, or the
        database is out) that some may have been taken back: none starts until the
        processing thread's renewal has learnt which (see ``_renew``)."""
        return self._engine.clock.now() - self._renewed_at >= LEASE_DOUBT * self._lease

    def _hand_back(self, claim: Claim) -> None:
        """Put a claimed job back first in line, for the processing thread to start once
        it has renewed; unless a renewal has just found it taken back."""
        with self._lock:
            held = claim.key in self._held
            if held:
                self._ready.appendleft(claim)
        if not held:
            self._not_started(claim)

    def _not_started(self, claim: Claim) -> None:
        log.warning(
            "job %s of %s: its claim was taken back, or given back at shutdown; not started here",
            claim.job.id,
            self._ref,
        )

    def _run_claimed(self, claim: Claim, now: float, several: bool) -> float:
        """Run a claimed job and hand it to the group commit; return when it ended.

        A job whose claim was taken back before it started is not run (see ``_renew``).
        """
        since, cpu = time.perf_counter(), time.thread_time() if several else 0.0
        try:
            if not self._track(claim.key, _Running(claim.job.id, None, since)):
                self._not_started(claim)
                return now
            try:
                self._watch_timeout(claim, now)
                started = self._engine.clock.now()
                ran = self._runner.execute(claim, now)
            finally:
                self._untrack(claim.key)
        except BaseException:
            with self._lock:  # nothing to store: its lease brings it back
                self._held.pop(claim.key, None)
            raise
        self._short = ran.ended - started < SHORT_RUN_S
        if several:
            took, cpu = time.perf_counter() - since, time.thread_time() - cpu
            self._on_cpu = took < SHORT_RUN_S and cpu >= took * ON_CPU_SHARE
        if ran.outcome.next_call is not None:
            self._schedule_changed = True  # a retry later on: the idle wait must know
        self._commits.add(ran)
        return ran.ended

    def _next_ready(self) -> Claim | None:
        """The oldest job claimed ahead; none once stopping (they are given back), for
        an abandoned thread (its slot went to other jobs), or for a thread that another
        one working through the queue makes unneeded (see the module's docstring)."""
        with self._lock:
            if (
                self._stop.is_set()
                or self._here.slot.abandoned
                or not self._ready
                or (len(self._queue_slots) > 1 and self._one_is_enough())
            ):
                self._queue_slots.discard(self._here.slot)  # at once: two must not both go
                return None
            return self._ready.popleft()

    def _fire(self, firing: Firing, now: float) -> None:
        self._track(firing.key, _Running(None, firing.run.id, time.perf_counter()))
        try:
            outcome = self._runner.run_firing(firing, now)
        finally:
            self._untrack(firing.key)
        if outcome.next_call is not None:
            self._schedule_changed = True  # to be tried again: the idle wait must know

    def _track(self, key: str, running: _Running) -> bool:
        """Note a run as running, so that its lease is renewed until ``_untrack``; report
        whether it may run at all (a pair of calls, not a context manager: this runs for
        every job, and a generator-based one cost 2 µs more).

        A job no longer held may not: its claim was taken back before it started.
        """
        with self._lock:  # with ``_renew``'s: the run is either started and lost, or not
            ours = running.job_id is None or key in self._held
            if ours:
                self._running[key] = running
        return ours

    def _untrack(self, key: str) -> None:
        """The run of ``key`` ended (or never started): no longer running, nor renewed."""
        with self._lock:
            self._running.pop(key, None)
            self._deadlines.pop(key, None)
            self._lost.discard(key)

    def lost_lease(self, key: str) -> bool:
        """Whether the run holding ``key`` was taken back from this process while it ran."""
        with self._lock:
            return key in self._lost

    def _watch_timeout(self, claim: Claim, now: float) -> None:
        """Note the deadline of a claim whose task has a timeout, for the processing thread.

        The run is tracked by then: a timeout at once must find it running to free its slot.
        """
        timeout = self._runner.timeout_of(claim.job)
        if timeout is not None:
            with self._lock:
                self._deadlines[claim.key] = (now + timeout, timeout, claim, self._here.slot)
                sooner = now + timeout < self._next_look
            if sooner:
                self._wakeup.set()  # the processing thread's idle wait must end by the deadline

    def _idle_timeout(self) -> float:
        now = self._engine.clock.now()
        with self._lock:  # with the deadlines: a deadline noted later sees ``_next_look``
            deadline = min((entry[0] for entry in self._deadlines.values()), default=now + 1e9)
            due = min(self._next_schedule_check, deadline)
            timeout = max(min(self._wait_time, self._lease / 3, due - now), 0.001)
            if self._on_cpu and self._ready:  # a run turning long must bring more threads in
                timeout = min(timeout, SHORT_RUN_S)
            self._next_look = now + timeout
        return timeout

    # -- leases -----------------------------------------------------------------------

    def _claims(self) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """What to renew: every held job (running, claimed ahead, or being stored), and
        the cron runs under way, but not those taken back (see ``_renew``)."""
        with self._lock:
            held = list(self._held.items())
            runs = [
                (r.run_id, key)
                for key, r in self._running.items()
                if r.run_id is not None and key not in self._lost
            ]
        return [(job_id, key) for key, job_id in held], runs

    def _keep_leases(self, now: float) -> None:
        """Renew our running jobs' leases, and give up jobs whose workers vanished.

        A renewal that fails ends the pass (see ``_leases_in_doubt``); the heartbeat and the
        recovery of other workers' jobs are set aside when they fail.
        """
        if now - self._last_renewal >= self._lease / 3:
            self._renew(now)
            self._last_renewal = now
            self._aside("heartbeat", lambda: heartbeat(self._engine, now))
        if now - self._last_recovery >= min(self._lease / 3, 10.0):
            self._last_recovery = now
            if self._aside("recovery", lambda: self._runner.recover_expired(now)):
                self._empty_as_of = None  # they wait again

    def _aside(self, what: str, step: Callable[[], int | None]) -> int | None:
        """Run housekeeping that our jobs need not wait for: if it fails, log it and go on
        (the step comes round again at its usual time, so it is logged at that pace), so
        that a failing heartbeat, recovery or prune does not keep the pass from starting
        jobs."""
        streak = self._asides.setdefault(what, _Streak(f"{what} of {self._ref}"))
        try:
            result = step()
        except Exception as exc:
            streak.failed(exc)
            return None
        streak.succeeded()
        return result

    def _renew(self, now: float) -> None:
        """Renew the running claims' leases; note the runs that were taken back.

        A run is taken back when this process did not renew in time (frozen by
        SIGSTOP or a VM pause): another worker may be running it now. Its thread
        cannot be stopped, but it is no longer renewed, its task's ``ctx.cancelled()``
        turns true (an async task is cancelled) and its result will be refused. A job's
        run still counts as running, and its task's timeout frees its slot as any run's.
        A job taken back before its run started (claimed ahead, or taken up by a
        thread that has not started it yet) is no longer held, and is not started;
        while a renewal is overdue, no claimed job starts (``_leases_in_doubt``).
        """
        lost = self._runner.renew(*self._claims(), now)
        with self._lock:  # at once, so that ``_track`` sees all of it or none
            running = [(key, self._running.get(key)) for key in lost]
            self._lost.update(key for key, run in running if run is not None)
            ahead = [claim for claim in self._ready if claim.key in lost]
            for claim in ahead:
                self._ready.remove(claim)
            for key in lost:
                self._held.pop(key, None)
            self._renewed_at = now  # once they are dropped: a fresh time means they are gone
        for _key, run in running:
            if run is not None:
                log.warning(
                    "%s %s of %s: lease lost (taken back while this process did not renew "
                    "it); abandoning the run: no longer renewed, its result will be refused",
                    "job" if run.job_id is not None else "cron run",
                    run.job_id if run.job_id is not None else run.run_id,
                    self._ref,
                )
        for claim in ahead:
            log.warning(
                "job %s of %s: claimed ahead, then taken back while this process did not "
                "renew it; not started here",
                claim.job.id,
                self._ref,
            )

    def _enforce_timeouts(self, now: float) -> None:
        """Give up runs past their task's timeout, and hand their slots to other jobs; a
        run taken back is no longer ours to give up, and only its slot is handed on."""
        with self._lock:
            overdue = [(k, entry) for k, entry in self._deadlines.items() if entry[0] <= now]
        for key, (_, timeout, claim, slot) in overdue:
            reason = f"timed out after {timeout:g} s"
            if self.lost_lease(key) or self._runner.give_up(claim, reason, now, expired_only=False):
                with self._lock:  # no longer ours: it neither counts nor is renewed
                    self._held.pop(key, None)
                self._abandon(key, slot)
            with self._lock:
                self._deadlines.pop(key, None)

    def _abandon(self, key: str, slot: _Slot) -> None:
        """Free the slot of a run given up at its timeout; its thread runs on, unheard."""
        with self._lock:
            if key not in self._running:  # the run returned meanwhile: its thread is free
                return
            if self._abandoned >= MAX_ABANDONED_THREADS:
                log.error(
                    "%s: %d timed-out threads still run; this one keeps its slot",
                    self._ref,
                    self._abandoned,
                )
                return
            self._slots.discard(slot)
            self._queue_slots.discard(slot)
            slot.abandoned = True
            self._abandoned += 1
            self._running.pop(key, None)
            abandoned = self._abandoned
        log.warning(
            "%s: a timed-out thread runs on (%d now); its slot is free", self._ref, abandoned
        )

    def _drain(self) -> None:
        """After a stop: let running jobs finish within the grace period, then give them back.

        Jobs claimed ahead and not started are given back too.
        """
        clock = self._engine.clock
        deadline = clock.now() + self._grace
        while self._busy() and clock.now() < deadline:
            with self._lock:
                slots = list(self._slots)
            renew_by = min(deadline, clock.now() + self._lease / 3)  # for all slots together
            for slot in slots:
                remaining = renew_by - clock.now()
                if remaining <= 0:
                    break
                slot.done.wait(remaining)
            self._renew(clock.now())
        self._commits.close(self._lease)  # runs that ended are stored, not given back
        with self._lock:
            self._ready.clear()
        jobs, _runs = self._claims()
        for job_id, key in jobs:
            with self._lock:  # first: a thread sent to it and not yet started must not start
                self._held.pop(key, None)
            if self._runner.release(job_id, key):
                log.warning("job %s of %s given back at shutdown", job_id, self._ref)
        self._pool.shutdown(wait=False, cancel_futures=True)
