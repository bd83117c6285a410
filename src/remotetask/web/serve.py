"""Running the web app with uvicorn until SIGTERM or Ctrl-C, then exiting cleanly.

uvicorn runs with its httptools parser (with the read deadlines and the
connection cap of ``connections``) on uvloop: the measured fastest pair
(docs/benchmarks.md, "HTTP").
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import socket
import threading
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from remotetask.web.connections import connection_cap, raise_descriptor_limit, server_options

LOOP = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
"""uvloop where it is installed (the ``server`` extra installs it where it builds)."""


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


def run(
    web_app: FastAPI, sock: socket.socket, max_connections: int = 0, read_timeout: float = 10.0
) -> None:
    """Serve on the bound socket until a stop signal; the lifespan stops processing.

    The soft limit on open files is raised to the hard one first, and the cap on
    open connections (``max_connections``, 0 for the default) fits within it.
    """
    cap = connection_cap(raise_descriptor_limit(), max_connections)
    config = uvicorn.Config(
        web_app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        loop=LOOP,
        **server_options(cap, read_timeout),
    )
    CleanServer(config).run(sockets=[sock])
