"""Requests from other web pages: the Origin check, and the Host allow-list without tokens.

A browser attaches ``Origin`` to every state-changing request, so one naming
another host than the request's is a page elsewhere trying to act here: it is
refused on every route (403). Non-browser clients send no ``Origin`` and pass.

With ``--insecure-no-auth`` nothing else stands between a web page and the
API, so the ``Host`` header must also be a loopback name or address (or one
named in ``allowed_hosts``): a DNS-rebinding page reaches 127.0.0.1 under its
own host name, and is refused with 421.
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from remotetask.ui.security import same_origin
from remotetask.web.errors import Problem, problem_response
from remotetask.web.guard import SAFE_METHODS


class OriginGuard:
    """Refuse cross-origin unsafe requests; with ``allowed_hosts`` set, unknown Host names."""

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._worth_a_look(scope):
            problem = self._refusal(scope, Headers(scope=scope))
            if problem is not None:
                await problem_response(problem, scope.get("path"))(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _worth_a_look(self, scope: Scope) -> bool:
        """Whether there is anything to check: cheap, as every request passes here."""
        if self.allowed_hosts is not None:
            return True
        if scope.get("method") in SAFE_METHODS:
            return False
        return any(name in (b"origin", b"referer") for name, _ in scope.get("headers", ()))

    def _refusal(self, scope: Scope, headers: Headers) -> Problem | None:
        if self.allowed_hosts is not None:
            host = headers.get("host", "")
            if not host_allowed(host, self.allowed_hosts):
                return Problem(
                    421,
                    f"this server answers only to loopback host names, not {host!r} "
                    "(it runs without authentication)",
                    code="host-not-allowed",
                )
        if scope.get("method") not in SAFE_METHODS and not same_origin(headers):
            return Problem(
                403,
                "a request from another web page may not change anything here",
                code="cross-origin",
            )
        return None


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    """Whether a Host header (``name[:port]``) names a loopback address or an allowed name."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name in allowed or name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
