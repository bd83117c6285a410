"""RFC 9457 problem details: every error of the JSON API, with a ``detail`` people can act on.

A problem carries a stable ``code`` extension (the same codes as
``remotetask.errors.error_code``) so the Python client raises the same
exception class a local service would have raised.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from remotetask.errors import InvalidInputError, RemoteTaskError, error_code, error_status

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:remotetask:problem:"
RETRY_AFTER_SECONDS = "5"
INPUT_POINTER = ("body", "input")
"""Where a job's input sits in every request that adds jobs (field errors point below it)."""

log = logging.getLogger("remotetask.web")

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    421: "Misdirected Request",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "too-many-requests",
}


class Problem(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _HTTP_CODES.get(status, "error")
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    """The ``application/problem+json`` response for ``problem``."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + problem.code,
        "title": _TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(problem.extra)
    return JSONResponse(
        body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


def domain_problem(exc: RemoteTaskError) -> Problem:
    """How a library exception is answered over HTTP (the table in ``remotetask.errors``)."""
    status = error_status(exc)
    if status == 503:
        log.error("store unavailable: %s", exc)
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
        return Problem(status, str(exc), code=error_code(exc), headers=headers)
    extra = None
    if isinstance(exc, InvalidInputError) and exc.errors:
        errors = [
            {**_pointed(INPUT_POINTER, e.loc, e.message), "loc": list(e.loc)} for e in exc.errors
        ]
        extra = {"errors": errors}
    return Problem(status, str(exc), code=error_code(exc), extra=extra)


def _pointed(base: tuple[str, ...], loc: tuple[object, ...], message: str) -> dict[str, str]:
    return {"pointer": "/".join(str(part) for part in (*base, *loc)), "detail": message}


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, str]]]:
    errors = [
        _pointed((), tuple(error.get("loc", ())), str(error.get("msg", "invalid")))
        for error in exc.errors()
    ]
    summary = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:5])
    return f"the request is not valid: {summary}", errors


def install_problem_handlers(api: FastAPI) -> None:
    """Make every error of the app, including FastAPI's own, a problem document."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RemoteTaskError)
        return problem_response(domain_problem(exc), request.url.path)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"there is nothing at {request.url.path}"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        headers = dict(exc.headers or {})
        return problem_response(Problem(exc.status_code, detail, headers=headers), request.url.path)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        detail, errors = _validation_detail(exc)
        problem = Problem(422, detail, code="validation", extra={"errors": errors})
        return problem_response(problem, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        problem = Problem(500, "the server failed to answer; the error is in its log")
        return problem_response(problem, request.url.path)

    api.add_exception_handler(Problem, on_problem)
    api.add_exception_handler(RemoteTaskError, on_domain)
    api.add_exception_handler(StarletteHTTPException, on_http)
    api.add_exception_handler(RequestValidationError, on_validation)
    api.add_exception_handler(Exception, on_unexpected)
