"""The remote service: JSON API, XML-RPC, health and metrics, as one ASGI app.

``create_web_app(app, settings)`` builds it; ``remotetask serve`` runs it with
uvicorn; the management UI is mounted at ``/ui``. The lifespan starts the
autostart services' processing and stops it with the grace period, so the
server process owns its workers' life.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from remotetask.app import App
from remotetask.ui import create_ui_app
from remotetask.web import api_admin, api_jobs, api_tokens, ops, xmlrpc
from remotetask.web.auth import Authenticator
from remotetask.web.circuit import Circuit
from remotetask.web.errors import install_problem_handlers
from remotetask.web.fastpath import FastPaths
from remotetask.web.groupcommit import GroupCommit
from remotetask.web.guard import BodyGuard, document_lean_bodies
from remotetask.web.metrics import Metrics
from remotetask.web.models import ProblemOut
from remotetask.web.origin import OriginGuard
from remotetask.web.ratelimit import RateLimiter
from remotetask.web.schemas import install_task_schemas
from remotetask.web.settings import WebSettings
from remotetask.web.waiters import Waiters

__all__ = ["WebSettings", "create_web_app"]

_PROBLEM = {"model": ProblemOut, "content": {"application/problem+json": {}}}
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"description": text, **_PROBLEM}
    for code, text in (
        (400, "Malformed request"),
        (401, "Missing, wrong, expired or revoked token"),
        (403, "The token's role does not allow this"),
        (404, "No such service or job (or not visible to the token)"),
        (409, "The job is not in a state that allows this"),
        (413, "Body too large"),
        (415, "Wrong content type"),
        (422, "Invalid values"),
        (429, "Over the token's rate limit or waiting requests; see Retry-After"),
        (503, "The store is unavailable; retry later"),
    )
}


def create_web_app(app: App, settings: WebSettings | None = None) -> WebApp:
    """The ASGI app serving ``app``'s services over HTTP and XML-RPC."""
    settings = settings or WebSettings()
    metrics = Metrics()
    waiters = Waiters(app, settings.max_waiters)
    circuit = Circuit(app.schema_versions)
    group_commit = GroupCommit(circuit)

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        app.observers.extend((metrics, waiters))
        if settings.autostart:
            await run_in_threadpool(app.autostart, list(settings.autostart))
        try:
            yield
        finally:
            await run_in_threadpool(group_commit.close)
            await run_in_threadpool(app.stop, settings.shutdown_grace)
            app.observers.remove(metrics)
            app.observers.remove(waiters)
            await run_in_threadpool(waiters.close)

    api = WebApp(
        title="remotetask",
        version=_version(),
        summary="Remote task execution: named tasks queued as jobs, cron and delayed jobs.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses=_ERRORS,
    )
    api.state.app = app
    api.state.settings = settings
    api.state.metrics = metrics
    api.state.waiters = waiters
    api.state.group_commit = group_commit
    api.state.readiness = ops.Readiness(app, circuit)
    limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
    api.state.authenticator = Authenticator(
        app, enabled=settings.auth, limiter=limiter, circuit=circuit
    )
    install_problem_handlers(api)
    document_lean_bodies(api)
    install_task_schemas(api, app)
    for module in (api_jobs, api_admin, api_tokens, ops, xmlrpc):
        api.include_router(module.router)
    api.mount("/ui", create_ui_app(app, app.tokens.verify, extra_templates=settings.templates))
    hosts = None if settings.auth else frozenset(h.lower() for h in settings.allowed_hosts)
    api.add_middleware(BodyGuard, max_body=settings.max_body)
    api.add_middleware(OriginGuard, allowed_hosts=hosts)
    api.fast_paths = FastPaths(
        lambda answer: OriginGuard(BodyGuard(answer, settings.max_body), allowed_hosts=hosts)
    )
    return api


class WebApp(FastAPI):
    """FastAPI, with the hottest requests taken in front of its layers (``web/fastpath``)."""

    fast_paths: FastPaths | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_paths is None or not await self.fast_paths.take(self, scope, receive, send):
            await super().__call__(scope, receive, send)


def _version() -> str:
    from remotetask import __version__

    return __version__
