"""JSON for job inputs and results: strict, bounded, so nothing unreadable is ever stored.

One set of limits for every way in (JSON API, XML-RPC, Python ``add``, the CLI,
the UI's forms) and for task results: at most ``MAX_DEPTH`` levels of nesting,
``MAX_BYTES`` of encoded JSON, no NaN or Infinity, and no lone UTF-16 surrogate
(``"\\ud800"``), which no UTF-8 database, HTTP body or XML document can carry.
``dumps`` enforces them on what is stored; ``parse`` is the strict parser for
JSON text that arrives (request bodies, command-line and form inputs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from remotetask.errors import InvalidInputError

MAX_DEPTH = 32
"""Deepest nesting of lists and objects accepted in a value."""
MAX_BYTES = 1024 * 1024
"""Largest value accepted, as UTF-8 JSON text (1 MiB, the default HTTP body limit)."""

_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False)
"""One encoder for every call: ``json.dumps`` with options builds a new one each time."""
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(
        None,  # no cycle markers: check_depth has refused a value that contains itself
        _ENCODER.default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        False,
        False,
        False,
    )
)
"""The C encoder, built once (``JSONEncoder.encode`` builds one per call)."""


def _encode(value: Any) -> str:
    if _C_ENCODE is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


def dumps(value: Any, what: str = "input") -> str:
    """Encode ``value`` as compact JSON within the limits, or raise InvalidInputError."""
    if type(value) is int and -(10**18) < value < 10**18:  # common, and far below the limits
        return int.__repr__(value)
    if value is None:  # what most tasks return
        return "null"
    if isinstance(value, dict | list | tuple):
        check_depth(value, what)
    try:
        text = _encode(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"the {what} must be a JSON value: {exc}") from None
    except RecursionError:
        raise InvalidInputError(f"the {what} is nested deeper than {MAX_DEPTH} levels") from None
    if not text.isascii():
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidInputError(
                f"the {what} holds a lone UTF-16 surrogate, which is not valid Unicode text"
            ) from None
    else:
        size = len(text)
    if size > MAX_BYTES:
        raise InvalidInputError(
            f"the {what} is {size} bytes as JSON; the limit is {MAX_BYTES} bytes"
        )
    return text


def checked(text: str, what: str = "input") -> str:
    """JSON text encoded elsewhere (a typed task's codec), held to the same limits."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise InvalidInputError(
            f"the {what} is {size} bytes as JSON; the limit is {MAX_BYTES} bytes"
        )
    parse(text, what)
    return text


_Scanner = Callable[[str, int], tuple[Any, int]]
_SCAN: _Scanner = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""The decoder's scanner alone: ``json.loads`` wraps it in checks and two regular expression
matches for whitespace, which cost several times the scan of a short value."""


def loads(text: str | None) -> Any:
    """Decode JSON text read back from the store (None stays None), as ``json.loads`` does.

    It runs for every job claimed: text that the scanner reads whole from its first
    character, as the store's compact JSON always is, skips ``json.loads``; anything else
    (whitespace around it, malformed text) goes through it, for its value or its error.
    """
    if text is None:
        return None
    try:
        value, end = _SCAN(text, 0)
    except (StopIteration, ValueError):
        end = -1  # json.loads raises its own error, not one chained to the scanner's
    return value if end == len(text) else json.loads(text)


def parse(data: bytes | str, what: str = "JSON") -> Any:
    """Parse arriving JSON strictly; InvalidInputError says what is wrong.

    UTF-8 only, no NaN or Infinity, no duplicate keys, no lone surrogates, at
    most ``MAX_DEPTH`` levels. (The size limit is the caller's: a request body
    is refused by its length before it is read.)
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"the {what} is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(data, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise InvalidInputError(f"the {what} is nested deeper than {MAX_DEPTH} levels") from None
    except _Refused as exc:
        raise InvalidInputError(f"the {what} is refused: {exc}") from None
    except ValueError as exc:
        raise InvalidInputError(f"the {what} is not valid JSON: {exc}") from None
    if "\\u" in data or not data.isascii():
        _refuse_surrogates(value, what)
    if isinstance(value, dict | list):
        check_depth(value, what)
    return value


def check_depth(value: Any, what: str = "input") -> None:
    """Raise InvalidInputError if lists/objects nest deeper than ``MAX_DEPTH`` (no recursion).

    Stops at the limit, so a value that contains itself is refused, not walked forever.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > MAX_DEPTH:
            raise InvalidInputError(f"the {what} is nested deeper than {MAX_DEPTH} levels")
        children = item.values() if isinstance(item, dict) else item
        stack.extend(
            (child, level + 1) for child in children if isinstance(child, dict | list | tuple)
        )


def _refuse_surrogates(value: Any, what: str) -> None:
    """Lone surrogates come only from ``\\u`` escapes; look for them in strings and keys."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            _check_text(item, what)
        elif type(item) is dict:
            for key, child in item.items():
                _check_text(key, what)
                stack.append(child)
        elif type(item) is list:
            stack.extend(item)


def _check_text(text: str, what: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(
                f"the {what} holds a lone UTF-16 surrogate (such as \\ud800), "
                "which is not valid Unicode text"
            ) from None


class _Refused(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number; send null or a string instead")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"the JSON object has the key {key!r} twice")
            seen.add(key)
    return result
