"""A real HTTP server for UI tests: uvicorn on a free loopback port, in a thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

import remotetask
from remotetask.ui import Principal, TokenVerifier, create_ui_app
from tests.waiting import wait_until

TOKENS = {
    "admin-secret": Principal("alice", "admin", ("*",)),
    "operate-secret": Principal("olga", "operate", ("site1",)),
    "read-secret": Principal("rita", "read", ("site1",)),
}
TEMPLATES = Path(__file__).parent / "templates"


def verify(token: str) -> Principal | None:
    """The test token store: a dict of secrets."""
    return TOKENS.get(token)


@contextmanager
def serve(
    app: remotetask.App, refresh_seconds: float = 1.0, verify_token: TokenVerifier = verify
) -> Iterator[str]:
    """Serve the UI mounted at /ui (as the real server will); yield its base URL."""
    ui = create_ui_app(
        app,
        verify_token,
        extra_templates=TEMPLATES,
        refresh_seconds=refresh_seconds,
    )
    outer = Starlette(routes=[Mount("/ui", app=ui)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as serve does: no 40 ms stalls
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        outer, log_level="warning", lifespan="off", ws="none", http="h11", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="uvicorn started")
        yield f"http://127.0.0.1:{port}/ui"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
