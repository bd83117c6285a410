"""The callbacks a wake-up listener calls, shared by PostgreSQL's and SQLite's listeners."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("remotetask")


class Subscribers:
    """Callbacks told the service reference of each wake-up; one failing does not stop the rest."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[str], None]] = []
        self._lock = threading.Lock()

    def add(self, callback: Callable[[str], None]) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def deliver(self, payload: str) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(payload)
            except Exception:
                log.exception("wake-up callback failed")
