"""The fast paths: submitting a job and reading one, straight to their routes.

``POST /api/v1/services/{service}/jobs`` and ``GET …/jobs/{id}`` (with or without
``?wait=``) are the hottest requests: a client submits, then long-polls for the
result. The web app (``WebApp`` in ``web/__init__``) offers every request to
``FastPaths`` before its FastAPI layers, and these go through the app's origin and
body guards straight to their route's own code (``api_jobs.add_job``,
``api_jobs.answer_job`` after ``service_of``), skipping FastAPI's and Starlette's
per-request layers (server-error, telemetry and body-limit middleware, the router's
walk over every route, dependency resolution, exit stack, handler wrapping): a tenth
of the server's CPU per submit (docs/benchmarks.md, "Fourth pass"). Only requests the route
would accept as they are take the fast path: a read whose id or query is anything
but plain digits and at most ``wait`` within its bounds goes through the app,
whose validation answers it as before. An error is answered by the app's own
exception handlers (problem+json, as on every other route), an unexpected one by
its handler for ``Exception`` (a logged 500). The routes stay registered, so the
OpenAPI document does not change, and any other method or path goes to the app.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
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
_HANDLER = "remotetask.fast_path"
"""The scope key that carries a fast-path request's handler through the guards."""


class FastPaths:
    """The lane in front of the app's layers: submits and job reads through ``guards`` alone."""

    def __init__(self, guards: Callable[[ASGIApp], ASGIApp]) -> None:
        self._guarded = guards(_answer)

    async def take(self, app: FastAPI, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request if it is one the fast paths take; False leaves it to ``app``."""
        handler = _handler_for(scope) if scope["type"] == "http" else None
        if handler is None:
            return False
        scope["app"] = app  # as FastAPI sets it: ``request.app`` for the routes
        scope[_HANDLER] = handler
        await self._guarded(scope, receive, send)
        return True


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    try:
        response = await scope[_HANDLER](request)
    except Exception as exc:
        response = await _exception_handler(request, exc)(request, exc)
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


def _exception_handler(request: Request, exc: Exception) -> Callable[..., Awaitable[Response]]:
    """The app's handler for ``exc`` as its exception middleware would pick it."""
    handlers: dict[type, Callable[..., Awaitable[Response]]] = request.app.exception_handlers
    for kind in type(exc).__mro__:
        if kind in handlers:
            return handlers[kind]
    raise exc  # no handler at all (``install_problem_handlers`` has one for Exception)
