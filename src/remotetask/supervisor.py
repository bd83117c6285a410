"""``remotetask worker --processes N``: N worker processes under one supervisor.

Each child is the same command without ``--processes``, so a child is exactly
a single worker. The supervisor forwards SIGTERM and SIGINT, waits for the
children's graceful shutdown, and starts a new child when one dies (a crash
or a SIGKILL), unless the child refused its configuration (exit code 2).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from types import FrameType

log = logging.getLogger("remotetask")

RESPAWN_DELAY_S = 0.5
CONFIG_EXIT = 2


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
    children: list[subprocess.Popen[bytes]] = []
    lock = threading.Lock()

    def handle(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        with lock:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signum)

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    with lock:
        children.extend(subprocess.Popen(command) for _ in range(processes))
    worst = 0
    while not stop.wait(RESPAWN_DELAY_S):
        with lock:
            for i, child in enumerate(children):
                code = child.poll()
                if code is None or stop.is_set():
                    continue
                if code == CONFIG_EXIT:
                    log.error("worker %s refused its configuration; stopping", child.pid)
                    worst = code
                    stop.set()
                    break
                log.warning("worker %s exited with %s; starting another", child.pid, code)
                children[i] = subprocess.Popen(command)
    with lock:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
    for child in children:
        code = child.wait()
        worst = max(worst, code if code > 0 else 0)
    log.info("all %d worker processes stopped", processes)
    return worst
