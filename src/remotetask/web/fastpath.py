"""The fast paths: submitting a job and reading one, straight to their routes.

``POST /api/v1/services/{service}/jobs`` and ``GET …/jobs/{id}`` (with or without
``?wait=``) are the hottest requests: a client submits, then long-polls for the
result. This ASGI middleware hands each to its route's own code at once
(``api_jobs.add_job``, ``api_jobs.answer_job`` after ``service_of``), skipping the
router's walk over every route and FastAPI's per-request layers (dependency
resolution, exception middleware, exit stack, handler wrapping). It sits inside the
body and origin guards, so those checks are unchanged. Only requests the route
would accept as they are take the fast path: a read whose id or query is anything
but plain digits and at most ``wait`` within its bounds goes through the router,
whose validation answers it as before. An error is answered by the app's own
exception handlers (problem+json, as on every other route), and an unexpected one
goes up to the server-error handler. The routes stay registered, so the OpenAPI
document does not change, and any other method or path goes through the router.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from remotetask.auth import Action
from remotetask.web.api_jobs import MAX_WAIT, add_job, answer_job
from remotetask.web.auth import service_of
from remotetask.web.models import MAX_ID

_SUBMIT = re.compile(r"/api/v1/services/(?P<service>[^/]+)/jobs")
"""The submit route's path; ``{service}`` matches as the router's ``str`` parameter does."""
_JOB = re.compile(r"/api/v1/services/(?P<service>[^/]+)/jobs/(?P<job_id>[0-9]{1,19})")
"""The job route's path, with an id of plain digits."""
_WAIT = re.compile(rb"(?:wait=(?P<wait>[0-9]{1,9}(?:\.[0-9]{1,9})?))?")
"""The query strings the job route takes as they are: none, or a plain ``wait``."""

_Handler = Callable[[Request], Awaitable[Response]]


class FastPaths:
    """Run submits and job reads without the router; pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = _handler_for(scope) if scope["type"] == "http" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except Exception as exc:
            on_error = _exception_handler(request, exc)
            if on_error is None:
                raise
            response = await on_error(request, exc)
        await response(scope, receive, send)


def _handler_for(scope: Scope) -> _Handler | None:
    """The route code for a request the fast path takes (its path parameters set), or None."""
    method = scope["method"]
    if method == "POST":
        match = _SUBMIT.fullmatch(_route_path(scope))
        if match is None:
            return None
        scope["path_params"] = match.groupdict()
        return add_job
    if method != "GET":
        return None
    match = _JOB.fullmatch(_route_path(scope))
    query = _WAIT.fullmatch(scope.get("query_string", b""))
    if match is None or query is None:
        return None
    job_id = int(match["job_id"])
    wait = float(query["wait"] or 0)
    if not 1 <= job_id <= MAX_ID or wait > MAX_WAIT:
        return None  # the router's validation answers it
    scope["path_params"] = match.groupdict()

    async def read(request: Request) -> Response:
        return await answer_job(await service_of(request, Action.READ), request, job_id, wait)

    return read


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the ``root_path`` a proxy mounted the app at."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _exception_handler(
    request: Request, exc: Exception
) -> Callable[..., Awaitable[Response]] | None:
    """The app's handler for ``exc`` as its exception middleware would pick it (not 500s)."""
    handlers: dict[type, Callable[..., Awaitable[Response]]] = request.app.exception_handlers
    for kind in type(exc).__mro__:
        if kind is Exception:
            return None  # the server-error handler's, further out
        if kind in handlers:
            return handlers[kind]
    return None
