"""JSON encoding of job inputs and results: strict, so nothing unreadable is stored."""

from __future__ import annotations

import json
from typing import Any

from remotetask.errors import InvalidInputError

_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False)
"""One encoder for every call: ``json.dumps`` with options builds a new one each time."""


def dumps(value: Any, what: str = "input") -> str:
    """Encode ``value`` as compact JSON; NaN, Infinity and non-JSON types are refused."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"the {what} must be a JSON value: {exc}") from None
    except RecursionError:
        raise InvalidInputError(f"the {what} is nested too deeply to store as JSON") from None


def loads(text: str | None) -> Any:
    """Decode JSON text read back from the store (None stays None)."""
    return None if text is None else json.loads(text)
