"""The body guard: size limit, content type and strict JSON, before any route runs.

An ASGI middleware, so a request is refused before FastAPI parses anything:
a body over the limit gets 413 as soon as the limit is passed (by its
Content-Length, or while it streams in) and nothing more is read. JSON bodies
are parsed once, here, by ``jsonvalue.parse`` (UTF-8 only, no NaN or Infinity,
no duplicate keys, no lone surrogates, at most 32 levels deep); routes read
that parse through ``GuardedRoute`` instead of parsing the body again. A
state-changing API request never acts on a form content type, even with an
empty body: that is what a cross-site HTML form can send.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from remotetask import jsonvalue
from remotetask.errors import InvalidInputError
from remotetask.web.errors import Problem, problem_response

PARSED = "remotetask.json"
"""The scope key holding the guard's parse of a JSON body."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_XML_TYPES = ("text/xml", "application/xml")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


class _Disconnected(Exception):
    """The client went away before its body was complete: answer nothing."""


class BodyGuard:
    """Buffer and check every request body; replay it to the app when it passes."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
            self._check(scope, body)
        except _Disconnected:
            return
        except Problem as problem:
            await problem_response(problem, scope.get("path"))(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes:
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                raise Problem(400, "the Content-Length header is not a number")
            if int(declared) > self.max_body:
                raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _too_large(self) -> Problem:
        return Problem(413, f"the request body is larger than the limit of {self.max_body} bytes")

    def _check(self, scope: Scope, body: bytes) -> None:
        path: str = scope.get("path", "")
        media = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if path.startswith("/ui/"):
            if body and media != "application/x-www-form-urlencoded":
                raise Problem(415, "the web UI takes HTML form posts only")
            return  # the UI's forms carry no JSON; the size limit still applies
        if media in _FORM_TYPES and scope.get("method") not in SAFE_METHODS:
            raise Problem(415, f"{media} is what HTML forms send; this API takes JSON only")
        if not body:
            return
        if path.startswith("/xmlrpc"):
            if media not in _XML_TYPES:
                raise Problem(415, "an XML-RPC request must be sent as text/xml")
            return
        if media != "application/json":
            raise Problem(415, f"the body must be application/json, not {media or 'untyped'}")
        scope[PARSED] = strict_json(body)


def strict_json(body: bytes) -> Any:
    """Parse a JSON body strictly, raising a 400 Problem that says what is wrong."""
    try:
        return jsonvalue.parse(body, "body")
    except InvalidInputError as exc:
        raise Problem(400, str(exc)) from None


M = TypeVar("M", bound=BaseModel)


def parsed_body(request: Request, model: type[M]) -> M:
    """The guard's parse of the body, validated as ``model`` (422 like FastAPI's own)."""
    try:
        return model.model_validate(request.scope.get(PARSED))
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from None


_LEAN_BODIES: dict[str, type[BaseModel]] = {}


def body_schema(model: type[BaseModel], *headers: tuple[str, str]) -> dict[str, Any]:
    """OpenAPI for a lean route that reads ``model`` with ``parsed_body``: body, path, headers.

    The model is a named component (``document_lean_bodies`` adds it), as FastAPI's own
    body models are.
    """
    _LEAN_BODIES[model.__name__] = model
    parameters = [
        {"name": "service", "in": "path", "required": True, "schema": {"type": "string"}}
    ] + [
        {"name": name, "in": "header", "required": False, "schema": {"type": "string"},
         "description": text}
        for name, text in headers
    ]  # fmt: skip
    return {
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        },
        "security": [{"HTTPBearer": []}],
    }


def document_lean_bodies(api: FastAPI) -> None:
    """Make ``api.openapi()`` name the body models of the lean routes among its components."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, model in _LEAN_BODIES.items():
            schemas.setdefault(name, model.model_json_schema())
        return document

    api.openapi = openapi  # type: ignore[method-assign]


class _ParsedRequest(Request):
    """A request whose JSON is the guard's parse (FastAPI reads bodies through ``json()``)."""

    async def json(self) -> Any:
        if PARSED in self.scope:
            return self.scope[PARSED]
        return await super().json()


class GuardedRoute(APIRoute):
    """An API route that takes the body the guard already parsed instead of parsing it again."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parsed_once(request: Request) -> Response:
            return await handler(_ParsedRequest(request.scope, request.receive))

        return parsed_once


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (the first one), or None."""
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None
