"""``remotetask worker --processes N``: N worker processes under one supervisor.

Each child is the same command without ``--processes``, so a child is exactly
a single worker. The supervisor forwards SIGTERM and SIGINT, waits for the
children's graceful shutdown, and starts a new child when one dies (a crash,
a SIGKILL, a task calling ``os._exit``). Only a child that refused its
configuration stops them all: it exits 2 before reporting, through a pipe the
supervisor hands it, that it started processing (``report_ready``); an exit 2
after that is a death like any other. A child that fails by itself right after
starting is restarted after a growing delay, so a broken deploy does not spin; one
killed by a signal is replaced at once.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger("remotetask")

RESPAWN_DELAY_S = 0.5
MAX_RESPAWN_DELAY_S = 30.0
EARLY_DEATH_S = 5.0
CONFIG_EXIT = 2
READY_FD_ENV = "REMOTETASK_READY_FD"
"""Names the pipe on which a child reports that its configuration was accepted."""


def report_ready() -> None:
    """In a child of ``supervise``: from now on an exit is a death, not a refused configuration."""
    fd = os.environ.pop(READY_FD_ENV, None)
    if fd is None:
        return
    try:
        os.write(int(fd), b"1")
    finally:
        os.close(int(fd))


@dataclass(slots=True)
class _Child:
    """A running child, when it started, and the read end of its ready pipe."""

    process: subprocess.Popen[bytes]
    born: float
    ready_pipe: int

    @classmethod
    def start(cls, command: list[str], now: float) -> _Child:
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        try:
            env = {**os.environ, READY_FD_ENV: str(write_end)}
            process = subprocess.Popen(command, env=env, pass_fds=(write_end,))
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        return cls(process, now, read_end)

    def was_ready(self) -> bool:
        """Once it has exited: whether it had reported its configuration accepted.

        Asked once: the pipe is closed afterwards.
        """
        try:
            return os.read(self.ready_pipe, 1) != b""
        except BlockingIOError:  # a process it started still holds the pipe, unwritten
            return False
        finally:
            os.close(self.ready_pipe)


def child_argv(argv: list[str]) -> list[str]:
    """``argv`` without the ``--processes`` option, so a child does not supervise again."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--processes":
            skip = True
        elif not arg.startswith("--processes="):
            out.append(arg)
    return out


def supervise(processes: int, argv: list[str]) -> int:
    """Run ``processes`` children until SIGTERM/SIGINT; return the worst child exit code."""
    command = [sys.executable, "-m", "remotetask", *child_argv(argv)]
    stop = threading.Event()
    children: list[_Child | None] = [None] * processes

    def handle(signum: int, _frame: FrameType | None) -> None:
        # Only a flag: the handler runs between two bytecodes of the loop below, and
        # the loop forwards the stop to the children within RESPAWN_DELAY_S.
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    due = [0.0] * processes  # when an empty slot gets its next child
    delay = [0.0] * processes
    worst = 0
    while not stop.is_set():
        now = time.monotonic()
        for i, child in enumerate(children):
            if child is None:
                if now >= due[i] and not stop.is_set():
                    children[i] = _Child.start(command, now)
                continue
            code = child.process.poll()
            if code is None:
                continue
            pid, ready = child.process.pid, child.was_ready()
            children[i] = None
            if code == CONFIG_EXIT and not ready:
                log.error("worker %s refused its configuration; stopping", pid)
                worst = code
                stop.set()
                break
            failed_early = code > 0 and now - child.born < EARLY_DEATH_S
            delay[i] = min(max(delay[i] * 2, 1.0), MAX_RESPAWN_DELAY_S) if failed_early else 0
            log.warning("worker %s exited with %s; next in %.0f s", pid, code, delay[i])
            due[i] = now + delay[i]
        stop.wait(RESPAWN_DELAY_S)
    for child in children:
        if child is not None and child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    for child in children:
        if child is not None:
            code = child.process.wait()
            child.was_ready()  # closes its pipe
            worst = max(worst, code if code > 0 else 0)
    log.info("all %d worker processes stopped", processes)
    return worst
