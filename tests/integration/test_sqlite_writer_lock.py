"""Writers in different processes queue on the lock file, not in SQLite's busy handler.

A writer that found SQLite locked by another process would sleep in the busy
handler (1, 2, 5, 10 ms ...) and wake late; one waiting on the lock file
(``store/sqlitelock.py``) is woken by the kernel when the other commits. The
kernel lists a process blocked on a ``flock`` in ``/proc/locks`` (``->``), which
is what the first test looks for while another process holds a write transaction.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import remotetask
from remotetask.store.sqlitewake import LOCK_NAME, wake_folder
from tests.integration.helpers import started
from tests.waiting import wait_until

LOCKS = Path("/proc/locks")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[remotetask.TaskService]:
    """A service on ``tmp_path/jobs.db`` with one job added (schema and lock file exist)."""
    app = remotetask.App(f"sqlite:///{tmp_path / 'jobs.db'}")
    app.register("echo", lambda value: value)
    service = app.add_service("site1@S")
    service.add("echo", 1)
    yield service
    app.close()


def holding(database: Path) -> AbstractContextManager[subprocess.Popen[str]]:
    """Another process inside a write transaction of ``database`` (a line on stdin commits)."""
    return started("write_holder", str(database), ready="holding")


def blocked_on(inode: int, pid: int) -> bool:
    """Whether ``pid`` waits for a ``flock`` on the file with ``inode``."""
    for line in LOCKS.read_text().splitlines():
        fields = line.split()
        if "->" in fields and "FLOCK" in fields:
            rest = fields[fields.index("->") + 1 :]
            if rest[3] == str(pid) and rest[4].endswith(f":{inode}"):
                return True
    return False


def test_a_writer_waits_for_another_process_s_transaction_on_the_lock_file(
    service: remotetask.TaskService, tmp_path: Path
) -> None:
    if not LOCKS.exists():
        pytest.skip("no /proc/locks to see who waits on a lock here")
    database = tmp_path / "jobs.db"
    added: list[int] = []
    with holding(database) as holder:
        writer = threading.Thread(target=lambda: added.append(service.add("echo", 2)))
        writer.start()
        inode = os.stat(wake_folder(str(database)) / LOCK_NAME).st_ino
        wait_until(lambda: blocked_on(inode, os.getpid()), 20, "the add waits on the lock file")
        assert not added, "the add waited for the other process's transaction"
        assert holder.stdin is not None
        holder.stdin.write("commit\n")
        holder.stdin.flush()
        writer.join(30)
        assert holder.wait(30) == 0
    assert len(added) == 1
    assert service.counts() == {remotetask.QUEUED: 2}


def test_a_writer_killed_inside_its_transaction_holds_up_nobody(
    service: remotetask.TaskService, tmp_path: Path
) -> None:
    """The kernel drops a dead process's ``flock``, as SQLite's own locks."""
    with holding(tmp_path / "jobs.db") as holder:
        holder.kill()
        holder.wait(30)
    service.add("echo", 2)
    assert service.counts() == {remotetask.QUEUED: 2}


def test_a_read_does_not_wait_for_another_process_s_transaction(
    service: remotetask.TaskService, tmp_path: Path
) -> None:
    """What lets the web app read jobs of a SQLite file on its event loop, without a thread
    (``reads_never_wait``): a reader never waits for a writer, it sees the last commit."""
    assert service.reads_never_wait
    with holding(tmp_path / "jobs.db") as holder:
        assert service.job(1).status == remotetask.QUEUED
        assert holder.poll() is None, "the transaction was still open during the read"
        assert holder.stdin is not None
        holder.stdin.write("commit\n")
        holder.stdin.flush()
        assert holder.wait(30) == 0
    in_memory = remotetask.App("sqlite://")  # one connection, shared under the write lock
    assert not in_memory.add_service("site1@S").reads_never_wait
    in_memory.close()
