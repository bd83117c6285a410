"""An idle worker process is woken by a job added in another process, on every backend.

The worker polls once a minute, so a job it runs within the test's deadline
was picked up through the wake-up (SQLite's datagram, PostgreSQL's NOTIFY).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

import remotetask
from remotetask.store.sqlitewake import LOCK_NAME, Announcer, wake_folder
from tests.integration.helpers import started
from tests.waiting import wait_until


def test_a_job_added_in_another_process_wakes_an_idle_worker(reopenable_url: str) -> None:
    app = remotetask.App(reopenable_url, settings=remotetask.Settings(auto_migrate=True))
    app.register("echo", lambda value: value)
    service = app.add_service("site1@Idle")
    try:
        with started("idle_worker", reopenable_url, ready="ready") as worker:
            if reopenable_url.startswith("postgresql"):
                time.sleep(1.0)  # the listener connects in the background
            time.sleep(0.5)  # only so the worker is idle: its next poll is a minute away
            job_id = service.add("echo", 7)
            wait_until(lambda: service.status(job_id) == remotetask.COMPLETED, timeout=30)
            assert worker.wait(30) == 0
    finally:
        app.close()


def test_a_killed_listener_s_socket_is_removed_by_the_next_add(tmp_path: Path) -> None:
    """The writers' lock file beside it refuses datagrams too, but it is no socket: it stays."""
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no unix sockets here")
    database = str(tmp_path / "jobs.db")
    folder = wake_folder(database)
    folder.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(folder / "dead"))
    dead.close()  # as a killed process leaves it: the file stays, nobody receives
    (folder / LOCK_NAME).touch()
    announcer = Announcer(database)
    announcer.announce("site1@S")
    announcer.close()
    assert os.listdir(folder) == [LOCK_NAME]


def test_a_store_closed_removes_its_socket(file_url: str) -> None:
    app = remotetask.App(file_url)
    app.add_service("site1@S").start_processing()
    folder = wake_folder(file_url.removeprefix("sqlite:///"))
    assert len(set(os.listdir(folder)) - {LOCK_NAME}) == 1
    app.close()
    assert set(os.listdir(folder)) - {LOCK_NAME} == set()
