"""The body guard: size limit, content type and strict JSON, before any route runs.

An ASGI middleware, so a request is refused before FastAPI parses anything:
a body over the limit gets 413 as soon as the limit is passed (by its
Content-Length, or while it streams in) and nothing more is read. JSON bodies
are parsed once here with strict rules Python's ``json`` lacks by default:
UTF-8 only, no NaN or Infinity, no duplicate keys, at most 32 levels deep.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from remotetask.web.errors import Problem, problem_response

MAX_DEPTH = 32
_XML_TYPES = ("text/xml", "application/xml")


class BodyGuard:
    """Buffer and check every request body; replay it to the app when it passes."""

    def __init__(self, app: ASGIApp, max_body: int, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_body = max_body
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
            self._check(scope, body)
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
        declared = _header(scope, b"content-length")
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
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self) -> Problem:
        return Problem(413, f"the request body is larger than the limit of {self.max_body} bytes")

    def _check(self, scope: Scope, body: bytes) -> None:
        if not body:
            return
        path: str = scope.get("path", "")
        media = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if path.startswith("/ui/"):
            if media != "application/x-www-form-urlencoded":
                raise Problem(415, "the web UI takes HTML form posts only")
            return  # the UI's forms carry no JSON; the size limit still applies
        if path.startswith("/xmlrpc"):
            if media not in _XML_TYPES:
                raise Problem(415, "an XML-RPC request must be sent as text/xml")
            return
        if media != "application/json":
            raise Problem(415, f"the body must be application/json, not {media or 'untyped'}")
        strict_json(body, self.max_depth)


def strict_json(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a JSON body strictly, raising a 400 Problem that says what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise Problem(400, f"the JSON body is nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        if isinstance(exc, _Refused):
            raise Problem(400, str(exc)) from None
        raise Problem(400, f"the body is not valid JSON: {exc}") from None
    if _depth(value) > max_depth:
        raise Problem(400, f"the JSON body is nested deeper than {max_depth} levels")
    return value


class _Refused(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number; send null or a string instead")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"the JSON object has the key {key!r} twice")
        result[key] = value
    return result


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
