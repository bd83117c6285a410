"""``remotetask worker --processes N``: N worker processes under one supervisor.

Each child is the same command without ``--processes``, so a child is exactly
a single worker. The supervisor forwards SIGTERM and SIGINT, waits for the
children's graceful shutdown, and starts a new child when one dies (a crash
or a SIGKILL), unless the child refused its configuration (exit code 2). A child
that fails by itself right after starting is restarted after a growing delay, so a
broken deploy does not spin; one killed by a signal is replaced at once.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

log = logging.getLogger("remotetask")

RESPAWN_DELAY_S = 0.5
MAX_RESPAWN_DELAY_S = 30.0
EARLY_DEATH_S = 5.0
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
    children: list[subprocess.Popen[bytes] | None] = [None] * processes

    def handle(signum: int, _frame: FrameType | None) -> None:
        # Only a flag: the handler runs between two bytecodes of the loop below, and
        # the loop forwards the stop to the children within RESPAWN_DELAY_S.
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    due = [0.0] * processes  # when an empty slot gets its next child
    born = [0.0] * processes
    delay = [0.0] * processes
    worst = 0
    while not stop.is_set():
        now = time.monotonic()
        for i, child in enumerate(children):
            if child is None:
                if now >= due[i] and not stop.is_set():
                    children[i], born[i] = subprocess.Popen(command), now
                continue
            code = child.poll()
            if code is None:
                continue
            if code == CONFIG_EXIT:
                log.error("worker %s refused its configuration; stopping", child.pid)
                worst = code
                stop.set()
                break
            failed_early = code > 0 and now - born[i] < EARLY_DEATH_S
            delay[i] = min(max(delay[i] * 2, 1.0), MAX_RESPAWN_DELAY_S) if failed_early else 0
            log.warning("worker %s exited with %s; next in %.0f s", child.pid, code, delay[i])
            children[i], due[i] = None, now + delay[i]
        stop.wait(RESPAWN_DELAY_S)
    for child in children:
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        code = child.wait() if child is not None else 0
        worst = max(worst, code if code > 0 else 0)
    log.info("all %d worker processes stopped", processes)
    return worst
