"""The store circuit: while the database does not answer, fail fast instead of waiting.

When PostgreSQL is down, every call waits for the connection pool's timeout
(10 s) before it fails. A call that failed that slowly opens the circuit:
submits, token checks and readiness then answer 503 at once, and a probe
thread tries the store (a cheap read) until it answers; then the circuit
closes again, without a restart. Fast failures (one killed connection)
open nothing: the next call simply tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from remotetask.errors import StoreError

log = logging.getLogger("remotetask.web")

PROBE_SECONDS = 1.0
"""Pause between two probes of a store that does not answer."""
SLOW_FAILURE_SECONDS = 1.0
"""A store call that failed after this long means the store is not answering."""


class Circuit:
    """Shared by the group commit, the token checks and readiness of one web app."""

    def __init__(self, probe: Callable[[], object]) -> None:
        self._probe = probe
        self._error: StoreError | None = None
        self._prober: threading.Thread | None = None
        self._lock = threading.Lock()

    def refusal(self) -> StoreError | None:
        """The error to answer with at once while the circuit is open; else None."""
        return self._error

    def failed(self, exc: StoreError, seconds: float) -> None:
        """A store call failed after ``seconds``: open the circuit if that was slow."""
        if seconds < SLOW_FAILURE_SECONDS:
            return
        with self._lock:
            self._error = exc
            if self._prober is None:
                log.error("the store does not answer; refusing at once until it does: %s", exc)
                self._prober = threading.Thread(
                    target=self._until_it_answers, name="remotetask-store-probe", daemon=True
                )
                self._prober.start()

    def succeeded(self) -> None:
        """A store call worked: close the circuit."""
        self._error = None

    def _until_it_answers(self) -> None:
        while True:
            with self._lock:
                if self._error is None:
                    self._prober = None
                    return
            time.sleep(PROBE_SECONDS)
            try:
                self._probe()
            except StoreError as exc:
                self._error = exc
                continue
            self._error = None
            log.warning("the store answers again")
