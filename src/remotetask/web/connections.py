"""Connections: read deadlines, a cap on open connections, and enough file descriptors.

uvicorn closes a keep-alive connection that idles after a response, but not
one that never finishes its first request: a client that sends nothing, half
a header or half a body holds a descriptor forever, and a thousand of them
exhaust the process's descriptors. ``GuardedHttp`` (uvicorn's httptools
protocol with deadlines) gives every request ``HEADER_SECONDS`` from its first
byte (or from the connection's start) to finish its headers and
``BODY_SECONDS`` to finish its body, answering 408 or closing when they pass.
Beyond ``max_connections`` open connections, a new one gets an immediate 503
with ``Retry-After`` and is closed, so the server keeps answering the ones it
has (and ``/livez``) instead of running out of descriptors.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_SECONDS = 10.0
"""Time from a request's start to the end of its headers."""
BODY_SECONDS = 30.0
"""Time from the end of a request's headers to the end of its body."""
KEEP_ALIVE_SECONDS = 5
"""Idle time allowed between requests on one connection."""
MOST_CONNECTIONS = 1000
"""The default cap on open connections, lowered to fit the descriptor limit."""
_DESCRIPTORS_KEPT = 64
"""Descriptors left for the database, log files and threads when sizing the cap."""


def _answer(status: str, body: bytes, *extra: bytes) -> bytes:
    head = [
        b"HTTP/1.1 " + status.encode(),
        b"content-type: application/problem+json",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
        *extra,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


_BUSY = _answer(
    "503 Service Unavailable",
    b'{"type":"urn:remotetask:problem:too-many-connections","title":"Service Unavailable",'
    b'"status":503,"detail":"the server has too many open connections; retry shortly",'
    b'"code":"too-many-connections"}',
    b"retry-after: 1",
)
_SLOW = _answer(
    "408 Request Timeout",
    b'{"type":"urn:remotetask:problem:request-timeout","title":"Request Timeout",'
    b'"status":408,"detail":"the request did not arrive in time","code":"request-timeout"}',
)


def raise_descriptor_limit() -> int:
    """Raise the soft limit on open files to the hard one; return the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(descriptors: int, wanted: int = 0) -> int:
    """The cap on open connections: ``wanted`` (or the default), within the descriptors."""
    room = max(16, (descriptors - _DESCRIPTORS_KEPT) // 2)
    return min(wanted or MOST_CONNECTIONS, room)


def guarded_http(
    max_connections: int,
    header_seconds: float = HEADER_SECONDS,
    body_seconds: float = BODY_SECONDS,
) -> type[asyncio.Protocol]:
    """The protocol class to give ``uvicorn.Config(http=...)``."""

    class GuardedHttp(HttpToolsProtocol):
        _refused = False
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= max_connections:
                self._refused = True
                transport.write(_BUSY)
                transport.close()
                return
            super().connection_made(transport)
            self._arm(header_seconds)

        def data_received(self, data: bytes) -> None:
            if not self._refused:
                super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if not self._refused:
                super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:
                self._arm(header_seconds)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            self._arm(body_seconds)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if self.cycle is None or self.cycle.response_complete:
                self.transport.write(_SLOW)  # no request is running: say why before closing
            self.transport.close()

    return GuardedHttp


def server_options(max_connections: int, read_seconds: float = HEADER_SECONDS) -> dict[str, Any]:
    """The uvicorn options that go with ``guarded_http`` (the body gets 3x ``read_seconds``)."""
    return {
        "http": guarded_http(max_connections, read_seconds, 3 * read_seconds),
        # X-Forwarded-* from loopback would otherwise rewrite the client address
        # (rate limits and waiter caps key on it without tokens); a proxy is explicit.
        "proxy_headers": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "backlog": 2048,
    }
