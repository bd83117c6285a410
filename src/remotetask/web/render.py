"""Jobs as JSON answers: whole on a job's own route, summarised in lists within a byte budget.

A job's input and result may each be up to ``jsonvalue.MAX_BYTES``; a page of
500 such jobs would be half a gigabyte. So a list item carries a field only if
it is short (``FIELD_LIMIT`` characters; longer ones are not even read from the
store, ``TaskService.job_summaries``): a longer one is sent as null and named
in the item's ``truncated`` list, and the page ends early, with a cursor, once
its items reach ``PAGE_BUDGET`` bytes. The job's own route has every value.
Answers are encoded here directly (the job is already plain JSON data), not
through a response model a second time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import Response

from remotetask.jobs import Job

FIELD_LIMIT = 4096
"""Longest input, result, error or traceback (JSON text) a list item carries, in characters."""
PAGE_BUDGET = 1024 * 1024
"""A list answer stops adding items once they take this many bytes."""
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode(data: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return _ENCODER.encode(data).encode("utf-8")


def json_response(
    data: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(encode(data), status_code, headers, media_type="application/json")


def job_response(
    job: Job, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """The whole job, every value included."""
    return json_response(job.to_json(), status_code, headers)


def listed(job: Job, truncated: tuple[str, ...]) -> dict[str, Any]:
    """The job as a list item, with the fields the store left out named in ``truncated``."""
    data = job.to_json()
    data["truncated"] = list(truncated)
    return data


def page_items(
    summaries: Iterable[tuple[Job, tuple[str, ...]]], budget: int = PAGE_BUDGET
) -> tuple[list[bytes], int | None]:
    """Encoded list items up to the byte budget (at least one); and the last id included."""
    items: list[bytes] = []
    used = 0
    last: int | None = None
    for job, truncated in summaries:
        item = encode(listed(job, truncated))
        if items and used + len(item) > budget:
            break
        items.append(item)
        used += len(item) + 1
        last = job.id
    return items, last


def page_response(
    items: list[bytes], next_cursor: str | None, headers: Mapping[str, str] | None = None
) -> Response:
    """``{"items": [...], "next_cursor": ...}`` from encoded items."""
    body = b'{"items":[' + b",".join(items) + b'],"next_cursor":' + encode(next_cursor) + b"}"
    return Response(body, 200, headers, media_type="application/json")


def list_response(items: list[bytes]) -> Response:
    """A JSON array of encoded items."""
    return Response(b"[" + b",".join(items) + b"]", media_type="application/json")
