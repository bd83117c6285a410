"""Operations routes: liveness, readiness, metrics, and the offline API docs page.

``/livez`` and ``/readyz`` answer without a token (probes carry none);
``/metrics`` needs a token with the read role and shows only its sites.
"""

from __future__ import annotations

import asyncio
import time
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from remotetask.app import App
from remotetask.auth import Action, Principal
from remotetask.errors import StoreError
from remotetask.web.auth import require
from remotetask.web.circuit import Circuit
from remotetask.web.errors import RETRY_AFTER_SECONDS, Problem

router = APIRouter(tags=["operations"])
_STATIC = {
    "docs.js": "text/javascript; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
}
DOCS_CSP = "default-src 'self'; frame-ancestors 'none'"
READY_SECONDS = 1.0
WAIT_SECONDS = 1.0


@router.get("/livez", summary="Liveness: the process answers")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


class Readiness:
    """The readiness verdict, renewed at most every ``READY_SECONDS``, never waited on long.

    A check reads the schema version and commits a write that changes nothing,
    so a full disk or a read-only file shows as degraded, not only a store that
    cannot be reached. Probes are unauthenticated, so a verdict is reused
    rather than paying a commit per probe, and a check runs in the background:
    a probe waits for it at most ``WAIT_SECONDS``, then hears that the store
    is not answering. While the circuit is open (see ``circuit``), the verdict
    is "degraded" without asking the store at all.
    """

    def __init__(self, app: App, circuit: Circuit) -> None:
        self.app = app
        self.circuit = circuit
        self._verdict: tuple[float, int | Problem] | None = None
        self._check_task: asyncio.Task[int | Problem] | None = None

    async def verdict(self) -> int | Problem:
        """The schema version when ready, else the problem to answer."""
        if self._verdict is not None and time.monotonic() - self._verdict[0] < READY_SECONDS:
            return self._verdict[1]
        if self._check_task is None:
            self._check_task = asyncio.create_task(self._renew())
        try:
            return await asyncio.wait_for(asyncio.shield(self._check_task), WAIT_SECONDS)
        except TimeoutError:
            return Problem(
                503, "degraded: the store is not answering", code="degraded", headers=_retry()
            )

    async def _renew(self) -> int | Problem:
        try:
            verdict = await run_in_threadpool(self._check)
            self._verdict = (time.monotonic(), verdict)
            return verdict
        finally:
            self._check_task = None

    def _check(self) -> int | Problem:
        refusal = self.circuit.refusal()
        if refusal is not None:
            return Problem(503, f"degraded: {refusal}", code="degraded", headers=_retry())
        started = time.monotonic()
        try:
            version, wanted = self.app.schema_versions()
            if version == wanted:
                self.app.check_writable()
        except StoreError as exc:
            self.circuit.failed(exc, time.monotonic() - started)
            return Problem(503, f"degraded: {exc}", code="degraded", headers=_retry())
        self.circuit.succeeded()
        if version != wanted:
            return Problem(
                503,
                f"the schema is at version {version}, this server needs {wanted}",
                headers=_retry(),
            )
        return version


@router.get(
    "/readyz", summary="Readiness: the store answers, takes writes, and its schema is current"
)
async def readyz(request: Request) -> dict[str, str | int]:
    verdict = await request.app.state.readiness.verdict()
    if isinstance(verdict, Problem):
        raise verdict
    return {"status": "ok", "schema_version": verdict}


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(
    request: Request, caller: Annotated[Principal, Depends(require(Action.READ))]
) -> Response:
    text = await run_in_threadpool(
        request.app.state.metrics.render, request.app.state.app, caller.sees
    )
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/docs", include_in_schema=False)
def docs_page() -> Response:
    return Response(_static("docs.html"), media_type="text/html; charset=utf-8", headers=_csp())


@router.get("/docs/{name}", include_in_schema=False)
def docs_asset(name: str) -> Response:
    media = _STATIC.get(name)
    if media is None:
        raise Problem(404, f"there is no docs file {name!r}")
    return Response(_static(name), media_type=media, headers=_csp())


def _static(name: str) -> str:
    return resources.files("remotetask.web").joinpath("static", name).read_text(encoding="utf-8")


def _csp() -> dict[str, str]:
    return {"Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff"}


def _retry() -> dict[str, str]:
    return {"Retry-After": RETRY_AFTER_SECONDS}
