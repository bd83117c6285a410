"""Running the web app with uvicorn until SIGTERM or Ctrl-C, then exiting cleanly."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class CleanServer(uvicorn.Server):
    """uvicorn's server, except that a stop signal means 'exit 0', not 're-raise the signal'.

    uvicorn re-raises a captured SIGINT/SIGTERM after its graceful shutdown so
    the default handler kills the process; ``remotetask serve`` promises exit
    status 0 after a clean stop instead.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run(web_app: FastAPI, sock: socket.socket) -> None:
    """Serve on the bound socket until a stop signal; the lifespan stops processing."""
    config = uvicorn.Config(
        web_app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    CleanServer(config).run(sockets=[sock])
