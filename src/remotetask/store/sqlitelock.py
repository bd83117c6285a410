"""One writer at a time across processes for SQLite, queued on a blocking file lock.

SQLite lets one connection write at a time; a writer in another process that
finds the database locked waits in SQLite's busy handler, which sleeps 1, 2, 5,
10, ... ms between tries and so wakes late when the lock frees. Two busy worker
processes spend much of their time asleep that way, and drain slower together
than one alone. So every write transaction of a file database first takes an
exclusive ``flock`` on ``<database>-wake/writer.lock``: a waiter blocks in the
kernel and wakes the moment the writer releases, and SQLite's own lock is free
by then (the commit came first), so its busy handler is not reached.

It only orders remotetask's writers: SQLite's locks still guard the data, and the
busy timeout still bounds waits on other programs (the ``sqlite3`` shell, a
backup). The kernel drops a lock when its process dies, so a killed writer never
leaves it held. Where ``flock`` or the folder is missing, writers use the busy
timeout alone.
"""

from __future__ import annotations

import logging
import os

from remotetask.store.sqlitewake import LOCK_NAME, wake_folder

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("remotetask")


class WriterLock:
    """The exclusive file lock a process holds around each of its write transactions.

    Not thread-safe by itself: the store calls it holding its in-process write lock.
    """

    def __init__(self, database: str) -> None:
        self._path = wake_folder(database) / LOCK_NAME
        self._fd: int | None = None
        self._pid = 0
        """The process that opened ``_fd``: a forked child must not share its lock."""
        self._failed = False

    def acquire(self) -> None:
        fd = self._open()
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    def _open(self) -> int | None:
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        if self._failed or fcntl is None:
            return None
        try:
            self._path.parent.mkdir(exist_ok=True)
            # Read-only is enough for flock, also on a file another user created.
            self._fd = os.open(self._path, os.O_RDONLY | os.O_CREAT, 0o666)
        except OSError as exc:
            self._failed = True
            log.info("no writer lock file for %s (%s); writers wait on SQLite", self._path, exc)
            return None
        self._pid = os.getpid()
        return self._fd
