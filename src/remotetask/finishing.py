"""Group commit of finished runs: many outcomes, one durable write.

Worker threads hand each ended run to ``GroupCommit`` and go on to their next job;
its thread stores what has gathered in one commit once ``max_batch`` runs are
waiting, or ``max_wait`` seconds after the first arrived, whichever comes first
(at once when no other run is under way to join it). The same commit claims the
service's next jobs. A run is reported (observers told, its status visible) only
once its commit returned, so a crash takes back only runs nobody has heard of,
and they run again after their lease.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from remotetask.runner import Ran, Runner
from remotetask.store import Claim

log = logging.getLogger("remotetask")

MAX_WAIT_S = 0.001
"""How long the first run of a batch waits for others to join it."""


class GroupCommit:
    """The commit thread of one processor.

    ``want(stored)`` says how many jobs to claim with a commit that stores the runs
    ``stored``; ``claimed(stored, claims, wanted)`` takes the outcome of each commit (or of
    a commit given up: claims ``None``). ``more_coming()`` says whether runs other than
    those waiting are still under way (else there is nothing to wait for).
    """

    def __init__(
        self,
        runner: Runner,
        max_batch: int,
        want: Callable[[list[Ran]], int],
        claimed: Callable[[list[Ran], list[Claim] | None, int], None],
        more_coming: Callable[[int], bool],
    ) -> None:
        self._runner = runner
        self._max_batch = max_batch
        self._want = want
        self._claimed = claimed
        self._more_coming = more_coming
        self._waiting: list[Ran] = []
        self._first_at = 0.0
        self._writing = 0
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(
            target=self._loop, name=f"remotetask-commit-{runner.ref}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def add(self, ran: Ran) -> None:
        """Store ``ran`` with the next group (at once, alone, once the thread is closed)."""
        with self._cond:
            if not self._closed:
                if not self._waiting:
                    self._first_at = time.monotonic()
                self._waiting.append(ran)
                self._cond.notify()
                return
        self._write([ran], with_claim=False)

    def busy(self) -> bool:
        """Whether runs are waiting or being written (whose commit will claim more)."""
        with self._cond:
            return bool(self._waiting) or self._writing > 0

    def close(self, timeout: float | None) -> None:
        """Store what is waiting (claiming nothing more) and end the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if not self._waiting:
                    return
                self._gather()
                batch = self._waiting[: self._max_batch]
                del self._waiting[: len(batch)]
                if self._waiting:
                    self._first_at = time.monotonic()
                self._writing = len(batch)
                closed = self._closed
            try:
                self._write(batch, with_claim=not closed)
            finally:
                with self._cond:
                    self._writing = 0

    def _gather(self) -> None:
        """Wait (holding the condition) until the batch is full, old enough, or alone."""
        deadline = self._first_at + MAX_WAIT_S
        while (
            not self._closed
            and len(self._waiting) < self._max_batch
            and self._more_coming(len(self._waiting))
        ):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._cond.wait(remaining)

    def _write(self, batch: list[Ran], *, with_claim: bool) -> None:
        limit = self._want(batch) if with_claim else 0
        claims: list[Claim] | None = None  # none: the commit failed
        try:
            _, claims = self._runner.store(batch, limit)
        except Exception:
            log.exception(
                "storing %d outcomes of %s failed; they run again after their lease",
                len(batch),
                self._runner.ref,
            )
        self._claimed(batch, claims, limit)
