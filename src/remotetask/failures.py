"""Failures as values: how an exception is named, how its message is grouped, and records.

Triage groups a service's errored jobs by task, exception type and the message with
its particulars taken out (numbers, quoted text, ids, paths), so "cannot open
'a.mov'" and "cannot open 'b.mov'" are one problem seen twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GROUP_LENGTH = 200
"""Longest normalised message kept; the rest of a long message does not split groups."""

_PARTICULARS = (
    (re.compile(r"'(?:[^'\\]|\\.)*'"), "'…'"),
    (re.compile(r'"(?:[^"\\]|\\.)*"'), '"…"'),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\b[0-9a-f]{16,}\b", re.I), "<hex>"),
    (re.compile(r"(?<![\w.])(?:/[\w.\-]+)+/?"), "<path>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)


def exception_type(exc: BaseException) -> str:
    """The exception's class as people look it up: ``ValueError``, ``mymodule.Declined``."""
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def exception_text(exc: BaseException) -> str:
    """``str(exc)``, the message kept as the job's error; a stand-in if that raises too."""
    try:
        return storable(str(exc))
    except BaseException:  # a broken __str__ must not cost the job its recorded failure
        return f"({exception_type(exc)}: its message could not be turned into text)"


def storable(text: str) -> str:
    """``text`` with NUL characters written as ``\\x00``: PostgreSQL text cannot hold them.

    Without this, one task's error message with a NUL byte fails the commit of its
    whole batch of outcomes, again on every retry.
    """
    return text.replace("\x00", "\\x00") if "\x00" in text else text


def normalise(message: str | None) -> str:
    """The message with numbers, quoted text, ids and paths replaced by placeholders."""
    text = " ".join((message or "").split())
    for pattern, placeholder in _PARTICULARS:
        text = pattern.sub(placeholder, text)
    return text[:GROUP_LENGTH]


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    """Errored jobs of one service that failed the same way."""

    task: str
    error_type: str | None
    pattern: str
    """The normalised message (see ``normalise``)."""
    count: int
    first_seen: float
    last_seen: float
    samples: tuple[int, ...]
    """Ids of a few of its jobs, newest first."""
    example: str | None
    """The full error message of the newest job of the group."""


@dataclass(frozen=True, slots=True)
class AttemptError:
    """One failed run of a job, kept when the job is retried (the attempt history)."""

    attempt: int
    started: float | None
    ended: float
    error: str | None
    error_type: str | None
    traceback: str | None
