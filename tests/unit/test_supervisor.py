"""``remotetask worker --processes N``: argument hand-down and refusing a bad configuration."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from remotetask.supervisor import child_argv

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
