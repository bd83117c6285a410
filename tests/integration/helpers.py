"""Helper processes of the integration tests: ``python -m tests.integration.<module>``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def busy(seconds: float) -> None:
    """Keep this thread on the CPU for ``seconds`` of its own CPU time (a CPU-bound run)."""
    ends = time.thread_time() + seconds
    while time.thread_time() < ends:
        pass


@contextmanager
def started(module: str, *args: str, ready: str) -> Iterator[subprocess.Popen[str]]:
    """The helper ``module`` run from the repository root, once it printed ``ready``.

    Its stdin is a pipe the test may write to; it is killed on the way out.
    """
    with subprocess.Popen(
        [sys.executable, "-m", f"tests.integration.{module}", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == ready
            yield process
        finally:
            process.kill()
