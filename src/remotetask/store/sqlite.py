"""The embedded SQLite store: WAL, ``synchronous=FULL`` and ``BEGIN IMMEDIATE`` writes.

Each thread has its own connection to a file database; writers inside one
process queue on a lock (cheaper than SQLite's sleeping busy handler), and
writers in different processes on a file lock (``sqlitelock``); the busy timeout
is left for programs that take neither. ``sqlite://`` is one
in-memory database shared by the process's threads through one connection.
Idle workers in other processes are woken by datagrams (``sqlitewake``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from remotetask.errors import SchemaError, StoreError
from remotetask.jobs import DELAYED, PROCESSING, QUEUED
from remotetask.refs import ServiceRef
from remotetask.store._sqlbase import JOB_COLUMNS, Cursor
from remotetask.store.base import Claim, NewJob
from remotetask.store.sql import SqlStore
from remotetask.store.sql_health import sqlite_health
from remotetask.store.sql_jobs import INSERT_JOB, job_row
from remotetask.store.sqlitelock import WriterLock
from remotetask.store.sqlitewake import Announcer, Listener, listen

MIN_FREE_BYTES = 1024 * 1024
"""Free disk below which writes count as failing (readiness)."""

BUSY_TIMEOUT_S = 30.0
INSERT_FROM_JSON = (
    "INSERT INTO jobs (service_id, task, input, status, schedule, created) "
    "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]'), json_extract(value, '$[3]'), ? FROM json_each(?) ORDER BY key"
)
"""A bulk insert as one statement over a JSON array of rows (cheaper than binding each)."""
CLAIMED = JOB_COLUMNS.replace("s.site, s.name", "?, ?").replace("j.", "")
"""``JOB_COLUMNS`` as a claim's RETURNING gives them: site and name bound as values, the
other columns unqualified (SQLite's UPDATE names its table without an alias)."""
_NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p"}


class SQLiteStore(SqlStore):
    """Store on one SQLite file (or in memory when ``path`` is None)."""

    dialect = "sqlite"

    def __init__(self, path: str | None, *, auto_migrate: bool = True, verify: bool = True) -> None:
        super().__init__()
        self.path = path
        self._where = "sqlite://" if path is None else path
        self._wal = False
        """Whether connections switch the file to WAL: only once its schema was accepted."""
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        self._listener: Listener | None = None
        self._announcer: Announcer | None = None
        self._writers: WriterLock | None = None
        if path is not None:
            _refuse_network_filesystem(Path(path))
            self._announcer = Announcer(path)
            self._writers = WriterLock(path)
        else:
            self._shared = self._open()
        self.reads_never_wait = path is not None
        if verify:
            self._verify_schema(auto_migrate)
            self._use_wal()

    # -- connections ------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        target = self.path if self.path is not None else ":memory:"
        try:
            conn = sqlite3.connect(
                target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            if self._wal:
                self._switch_to_wal(conn)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise self._not_ours(exc) from None
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def _use_wal(self) -> None:
        """Switch a file database to WAL, now that its schema was accepted.

        The mode is written into the file, so a refused file (another application's,
        a newer schema) is never switched: it is left exactly as it was.
        """
        if self.path is not None and not self._wal:
            self._wal = True
            self._switch_to_wal(self._connection())

    def _switch_to_wal(self, conn: sqlite3.Connection) -> None:
        try:
            _past_busy(conn, "PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            raise self._not_ours(exc) from None

    def _not_ours(self, exc: sqlite3.DatabaseError) -> SchemaError:
        return SchemaError(f"cannot open {self.path}: {exc} (is it a remotetask SQLite database?)")

    def _connection(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._announcer is not None:
            self._announcer.close()
        # Under the write lock: a task that outlived a stop may still be storing its
        # outcome, and closing a connection another thread is using can crash SQLite.
        with self._write_lock, self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            if self._writers is not None:
                self._writers.close()

    @contextmanager
    def _tx(self, write: bool, single: bool = False) -> Iterator[Cursor]:
        conn = self._connection()
        # Reads of a file database need no lock (WAL readers never block);
        # the one in-memory connection is shared, so everything takes the lock.
        lock_needed = write or self._shared is not None
        across = self._writers if write else None
        if lock_needed:
            self._write_lock.acquire()
        try:
            if across is not None:
                across.acquire()  # other processes' writers: see ``sqlitelock``
            with _store_errors(self.path):
                cur = conn.cursor()
                if write:
                    _begin_immediate(cur)
                    try:
                        yield cur
                        conn.commit()
                    except BaseException:
                        if conn.in_transaction:
                            conn.rollback()
                        raise
                else:
                    yield cur
        finally:
            if across is not None:
                across.release()  # a no-op if ``acquire`` failed
            if lock_needed:
                self._write_lock.release()

    def probe_write(self) -> None:
        """The committed no-op write, and enough free disk for more than that.

        A small write can still fit in WAL space freed by a checkpoint while new
        jobs no longer fit, so a file database with less than ``MIN_FREE_BYTES``
        free on its disk counts as failing writes too.
        """
        super().probe_write()
        if self.path is None:
            return
        stat = os.statvfs(Path(self.path).parent)
        if stat.f_bavail * stat.f_frsize < MIN_FREE_BYTES:
            raise StoreError(f"the disk holding {self.path} is full (less than 1 MiB free)")

    def health(self) -> dict[str, float]:
        with self._tx(write=False) as cur:
            return sqlite_health(cur, self.path)

    # -- wake-ups across processes ------------------------------------------------------

    def _after_insert_commit(self, ref: ServiceRef) -> None:
        """Wake idle workers in other processes: the jobs are committed, so they can claim."""
        if self._announcer is not None:
            self._announcer.announce(str(ref))

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(service_ref)`` when other processes add jobs, from a listener thread.

        In memory there are no other processes; where unix sockets are missing, none.
        """
        if self.path is None or self._announcer is None:
            return
        if self._listener is None:
            self._listener = listen(self.path)
            if self._listener is None:
                return
            self._announcer.own = self._listener.name
        self._listener.add(callback)

    def claim(
        self, ref: ServiceRef, now: float, limit: int, worker: str, lease_until: float
    ) -> list[Claim]:
        """As on every backend, but the commit does not wait for its fsync.

        ``synchronous=NORMAL`` for this one transaction, as PostgreSQL's claim runs with
        ``synchronous_commit`` off: a claim lost to a power failure leaves its job
        queued, to run again, which at-least-once allows; a process crash loses nothing;
        and the next durable commit (an add, a finish) flushes the WAL with the claim in
        it. It takes one fsync off the time from an add to the job starting.
        """
        if self._shared is not None:
            return super().claim(ref, now, limit, worker, lease_until)
        conn = self._connection()
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            return super().claim(ref, now, limit, worker, lease_until)
        finally:
            _restore_full_sync(conn)

    # -- what this dialect does its own way ------------------------------------------

    def _insert_rows(
        self, cur: Cursor, ref: ServiceRef, sid: int, jobs: Sequence[NewJob], now: float
    ) -> list[int]:
        """One statement: ids are consecutive, since we hold the write lock.

        Always in a transaction here (SQLite's ``_tx`` ignores ``single``); the
        wake-up is sent after the commit, by ``_after_insert_commit``.
        """
        if len(jobs) == 1:
            cur.execute(INSERT_JOB + " RETURNING id", job_row(sid, jobs[0], now))
            return [int(cur.fetchone()[0])]
        cur.execute(INSERT_FROM_JSON, (sid, now, json.dumps(jobs)))
        cur.execute("SELECT last_insert_rowid()")
        last = int(cur.fetchone()[0])
        return list(range(last - len(jobs) + 1, last + 1))

    def _claim_rows(
        self,
        cur: Cursor,
        ref: ServiceRef,
        service_id: int,
        now: float,
        limit: int,
        params: Sequence[Any],
    ) -> list[Any]:
        """One statement: the rows come back from the UPDATE itself, no second SELECT.

        RETURNING cannot join ``services``, so the service's site and name are bound
        as values (the claim is scoped to that one service).
        """
        cur.execute(
            "UPDATE jobs SET status = ?, attempts = attempts + 1, started = ?, ended = NULL, "
            "lease_until = ?, worker = ?, claim = lower(hex(randomblob(12))), "
            "cancel_requested = 0, progress = NULL, progress_message = NULL "
            "WHERE id IN (SELECT id FROM jobs WHERE service_id = ? AND status IN (?, ?) "
            "AND ((status = ? AND (next_call IS NULL OR next_call <= ?)) "
            f"OR (status = ? AND next_call <= ?)) ORDER BY id LIMIT ?) RETURNING {CLAIMED}",
            (
                str(PROCESSING),
                *params,
                service_id,
                str(QUEUED),
                str(DELAYED),
                str(QUEUED),
                now,
                str(DELAYED),
                now,
                limit,
                ref.site,
                ref.name,
            ),
        )
        return cur.fetchall()

    # -- schema -----------------------------------------------------------------------

    def migrate(self) -> int:
        applied = super().migrate()
        self._use_wal()
        return applied

    def _table_names(self, cur: Cursor) -> set[str]:
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in cur.fetchall()} - {"sqlite_sequence"}


def _restore_full_sync(conn: sqlite3.Connection) -> None:
    """Back to ``synchronous=FULL``, which every other write of this connection relies on."""
    if conn.in_transaction:
        conn.rollback()
    conn.execute("PRAGMA synchronous=FULL")


def _begin_immediate(cur: Cursor) -> None:
    """Take the write lock, retrying past the busy timeout's rare early SQLITE_BUSY."""
    _past_busy(cur, "BEGIN IMMEDIATE")


def _past_busy(cur: Cursor | sqlite3.Connection, statement: str) -> None:
    """Run ``statement``, retrying for up to the busy timeout while SQLite says it is busy.

    SQLite answers SQLITE_BUSY at once, without its busy handler, where waiting could
    deadlock: a BEGIN IMMEDIATE now and then, and a switch to WAL while another
    connection reads the file (new databases opened by several processes at once).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.001
    while True:
        try:
            cur.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


@contextmanager
def _store_errors(path: str | None) -> Iterator[None]:
    """Turn SQLite's failures into StoreError with a message people can act on; only what
    SQLite cannot read at all is a damaged file (SchemaError)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "full" in text:
            raise StoreError(f"the disk holding {path} is full; nothing was stored") from exc
        if "readonly" in text:
            raise StoreError(f"{path} is read-only; nothing was stored") from exc
        if "locked" in text or "busy" in text:
            raise StoreError(f"{path} stayed locked by another process for too long") from exc
        raise StoreError(f"SQLite error on {path}: {text}") from exc
    except sqlite3.IntegrityError as exc:  # a constraint or trigger refused it: the file is fine
        raise StoreError(f"SQLite refused a change to {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise SchemaError(f"{path} is damaged or not a SQLite database: {exc}") from exc


def _refuse_network_filesystem(path: Path) -> None:
    """SQLite's locking is unreliable on network file systems; refuse them up front."""
    directory = path.resolve().parent
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            entries = [line.split() for line in mounts]
    except OSError:
        return
    best, fstype = "", ""
    for entry in entries:
        if len(entry) >= 3 and _contains(entry[1], str(directory)) and len(entry[1]) > len(best):
            best, fstype = entry[1], entry[2]
    if fstype in _NETWORK_FILESYSTEMS:
        raise StoreError(
            f"{path} is on a network file system ({fstype}); SQLite locking is not safe there. "
            "Use a local disk or PostgreSQL."
        )


def _contains(mount_point: str, directory: str) -> bool:
    return directory == mount_point or directory.startswith(mount_point.rstrip(os.sep) + os.sep)
