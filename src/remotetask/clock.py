"""Time as a dependency, so tests drive it instead of sleeping; pauses for polling; UTC text."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where a service reads the current time (epoch seconds, UTC)."""

    def now(self) -> float: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        return time.time()


class FrozenClock:
    """A clock that only moves when told to; thread-safe for processing threads."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def set(self, when: float) -> None:
        with self._lock:
            self._now = when

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def pauses(timeout: float | None, *, first: float = 0.005, cap: float) -> Iterator[float]:
    """Sleeps for a polling loop: ``first`` seconds, doubling up to ``cap``.

    Each is clipped to the time left; the iterator ends once ``timeout`` seconds
    (from this call) have passed. None never ends.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    return _pauses(deadline, first, cap)


def _pauses(deadline: float | None, pause: float, cap: float) -> Iterator[float]:
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return
        yield pause if left is None else min(pause, left)
        pause = min(pause * 2, cap)


def utc_text(timestamp: float | None, none: str = "-") -> str:
    """Epoch seconds as UTC wall time to the second, as the CLI and the UI show it."""
    if timestamp is None:
        return none
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
