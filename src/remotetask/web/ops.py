"""Operations routes: liveness, readiness, metrics, and the offline API docs page.

``/livez`` and ``/readyz`` answer without a token (probes carry none);
``/metrics`` needs a token with the read role and shows only its sites.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from remotetask.app import App
from remotetask.auth import Action, Principal
from remotetask.errors import StoreError
from remotetask.web.auth import require
from remotetask.web.errors import RETRY_AFTER_SECONDS, Problem

router = APIRouter(tags=["operations"])
_STATIC = {
    "docs.js": "text/javascript; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
}
DOCS_CSP = "default-src 'self'; frame-ancestors 'none'"


@router.get("/livez", summary="Liveness: the process answers")
def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the store answers and its schema is current")
def readyz(request: Request) -> dict[str, str | int]:
    app: App = request.app.state.app
    try:
        version, wanted = app.schema_versions()
    except StoreError as exc:
        raise Problem(503, f"the store is not reachable: {exc}", headers=_retry()) from None
    if version != wanted:
        raise Problem(
            503, f"the schema is at version {version}, this server needs {wanted}", headers=_retry()
        )
    return {"status": "ok", "schema_version": version}


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
