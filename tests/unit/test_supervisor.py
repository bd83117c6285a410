"""``remotetask worker --processes N``: argument hand-down and refusing a bad configuration."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import remotetask
from remotetask.supervisor import child_argv
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_children_get_the_command_without_processes() -> None:
    argv = ["-v", "worker", "--processes", "3", "--threads", "2", "--processes=4", "--grace", "1"]
    assert child_argv(argv) == ["-v", "worker", "--threads", "2", "--grace", "1"]


def test_a_configuration_error_stops_the_supervisor(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "remotetask", "worker", "--processes", "2"]
    command += ["--database", f"sqlite:///{tmp_path / 'jobs.db'}", "--tasks", "no_such_module"]
    started = time.monotonic()
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=60, check=False)
    assert done.returncode == 2
    assert b"cannot import 'no_such_module'" in done.stderr
    assert time.monotonic() - started < 30


TASKS_THAT_DIE = """
import os


def register(app):
    app.register("echo", lambda value: value)

    @app.task(retry=__import__("remotetask").RetryPolicy(max_attempts=1))
    def die(code):
        os._exit(code)
"""


def test_a_child_that_dies_at_run_time_with_exit_2_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "dying_tasks.py").write_text(TASKS_THAT_DIE)
    database = f"sqlite:///{tmp_path / 'jobs.db'}"
    command = [sys.executable, "-m", "remotetask", "worker", "--processes", "2"]
    command += ["--database", database, "--tasks", "dying_tasks", "--service", "s@S"]
    log = tmp_path / "worker.log"
    app = remotetask.App(database)
    app.register("echo", lambda value: value)
    app.register("die", lambda code: code)
    service = app.add_service("s@S")
    with log.open("wb") as out:
        supervisor = subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=out)
    try:
        wait_until(lambda: log.read_text().count("processing s@S") == 2, 60, "two children")
        service.add("die", 2)  # what a start-up configuration failure exits with, too
        wait_until(lambda: "exited with 2" in log.read_text(), 60, "the child's death")
        wait_until(lambda: log.read_text().count("processing s@S") == 3, 60, "a replacement")
        survivor = service.add("echo", "still here")
        wait_until(lambda: service.status(survivor) == "completed", 60, "the echo job")
        assert supervisor.poll() is None, log.read_text()
        assert "refused its configuration" not in log.read_text()
    finally:
        supervisor.send_signal(signal.SIGTERM)
        code = supervisor.wait(60)
        app.close()
    assert code == 0, log.read_text()
