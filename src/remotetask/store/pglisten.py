"""LISTEN/NOTIFY as a wake-up hint: a thread with its own connection, reconnecting with backoff.

A notification only shortens an idle worker's sleep. It is delivered at commit
and never replayed to a listener that was disconnected, so nothing may depend
on it: workers still poll, and losing the listener costs only latency.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from remotetask.store.wakeups import Subscribers

log = logging.getLogger("remotetask")

CHANNEL = "remotetask_jobs"
POLL_S = 0.5
MAX_BACKOFF_S = 10.0


class Listener:
    """Listens on ``CHANNEL`` and hands each payload (a service reference) to the callbacks."""

    def __init__(self, url: str, ignore: Callable[[int], bool]) -> None:
        self._url = url
        self._ignore = ignore
        """Whether a notification from that server process is one to pass over (our own)."""
        self._subscribers = Subscribers()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="remotetask-listener", daemon=True)
        self.connected = threading.Event()
        """Set while a LISTEN connection is up (for tests and health checks)."""
        self.backend_pid: int | None = None
        """The server process of the current LISTEN connection."""
        self.reconnects = 0

    def add(self, callback: Callable[[str], None]) -> None:
        self._subscribers.add(callback)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(POLL_S * 4)

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self.connected.set()
                    backoff = 0.1
                    self._listen(conn)
            except psycopg.Error as exc:
                log.debug("listener connection lost (%s); retrying in %.1fs", exc, backoff)
            self.connected.clear()
            self.reconnects += 1
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            for notify in conn.notifies(timeout=POLL_S):
                if not self._ignore(notify.pid):
                    self._subscribers.deliver(notify.payload)
