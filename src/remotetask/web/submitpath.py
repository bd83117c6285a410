"""The submit fast path: ``POST /api/v1/services/{service}/jobs`` straight to its route.

Submitting is the hottest request, and its route (``api_jobs.add_job``) already reads
its caller and body itself. This ASGI middleware hands such a request to that same
function at once, skipping the router's walk over every route and FastAPI's per-request
layers (exception middleware, exit stack, handler wrapping). It sits inside the body and
origin guards, so those checks are unchanged; an error is answered by the app's own
exception handlers (problem+json, as on every other route), and an unexpected one goes
up to the server-error handler as before. The route stays registered, so the OpenAPI
document does not change, and any other method or path goes through the router.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from remotetask.web.api_jobs import add_job

_SUBMIT = re.compile(r"/api/v1/services/(?P<service>[^/]+)/jobs")
"""The submit route's path; ``{service}`` matches as the router's ``str`` parameter does."""


class SubmitFastPath:
    """Run submits without the router; pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "POST":
            match = _SUBMIT.fullmatch(_route_path(scope))
        if match is None:
            await self.app(scope, receive, send)
            return
        scope["path_params"] = match.groupdict()
        request = Request(scope, receive)
        try:
            response = await add_job(request)
        except Exception as exc:
            handler = _handler(request, exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the ``root_path`` a proxy mounted the app at."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _handler(request: Request, exc: Exception) -> Callable[..., Awaitable[Response]] | None:
    """The app's handler for ``exc`` as its exception middleware would pick it (not 500s)."""
    handlers: dict[type, Callable[..., Awaitable[Response]]] = request.app.exception_handlers
    for kind in type(exc).__mro__:
        if kind is Exception:
            return None  # the server-error handler's, further out
        if kind in handlers:
            return handlers[kind]
    return None
