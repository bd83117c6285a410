"""The exceptions remotetask raises, all under one root.

    RemoteTaskError
    ├── TaskError            raised by a task: its job fails at once, no retry
    ├── UnknownTaskError     (also ValueError) no task registered under that name
    ├── DuplicateTaskError   (also ValueError) a second task under a taken name
    ├── InvalidInputError    (also ValueError) an input or result that is not JSON, or not
    │                        of the task's annotated type (``errors``: the fields at fault)
    ├── InvalidScheduleError (also ValueError) a cron field or expression out of range
    ├── InvalidStatusError   (also ValueError) clean() asked for a status it cannot remove
    ├── InvalidReferenceError(also ValueError) a malformed "site@Service" reference
    ├── UnknownServiceError  (also LookupError) no such service
    ├── JobNotFoundError     (also LookupError) no such job in this service
    ├── ConfigError          a configuration file or value that cannot be used
    ├── StoreError           the database cannot be used right now
    │   └── SchemaError      the database is newer, older or not ours
    ├── AuthenticationError  (client) the server refused the token: HTTP 401
    ├── PermissionDeniedError(client) the token's role does not allow it: HTTP 403
    ├── ServerUnavailableError(client) no connection, or HTTP 503
    └── RequestError         (client) any other refused request (HTTP 4xx)

The built-in bases keep the original's contract (adding an unknown task raises
ValueError) while letting callers catch everything of ours with one clause.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class RemoteTaskError(Exception):
    """Root of every exception raised by remotetask."""


class TaskError(RemoteTaskError):
    """Raised by a task to fail its job at once with this message (no retry)."""


class UnknownTaskError(RemoteTaskError, ValueError):
    """No task is registered under the given name."""


class DuplicateTaskError(RemoteTaskError, ValueError):
    """A task name is already taken in this app."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason an input is invalid: where in the input (keys and indexes) and what."""

    loc: tuple[str | int, ...]
    message: str

    @property
    def path(self) -> str:
        """The location as ``items/0/name`` (empty for the input as a whole)."""
        return "/".join(str(part) for part in self.loc)


class InvalidInputError(RemoteTaskError, ValueError):
    """A job input or result is not a JSON value, or not of the task's declared type.

    ``errors`` lists the fields at fault when the input was checked against a
    type (empty for other refusals), so callers can show them by field.
    """

    def __init__(self, message: str, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(message)
        self.errors = tuple(errors)

    def at(self, index: int) -> InvalidInputError:
        """The same refusal for the ``index``-th of many inputs (``add_many``)."""
        errors = [FieldError((index, *e.loc), e.message) for e in self.errors]
        return InvalidInputError(f"input {index}: {self}", errors)


class InvalidScheduleError(RemoteTaskError, ValueError):
    """A schedule has out-of-range fields or an unparsable crontab expression."""


class InvalidStatusError(RemoteTaskError, ValueError):
    """A status that the operation does not accept."""


class InvalidReferenceError(RemoteTaskError, ValueError):
    """A service reference or autostart directive is malformed."""


class UnknownServiceError(RemoteTaskError, LookupError):
    """No service exists under the given reference."""


class JobNotFoundError(RemoteTaskError, LookupError):
    """No job with this id exists in the service asked."""


class ConfigError(RemoteTaskError):
    """A configuration file or value cannot be used."""


class StoreError(RemoteTaskError):
    """The database cannot be read or written right now (busy, full, read-only, gone)."""


class SchemaError(StoreError):
    """The database schema is not one this version can use; the message says why."""


# -- errors of the remote client (HTTP) ------------------------------------------------


class AuthenticationError(RemoteTaskError):
    """The server refused the token: missing, wrong, expired or revoked (HTTP 401)."""


class PermissionDeniedError(RemoteTaskError):
    """The token's role does not allow this action (HTTP 403)."""


class ServerUnavailableError(RemoteTaskError):
    """The server cannot be reached or cannot serve right now (connection error, HTTP 503)."""


class RequestError(RemoteTaskError):
    """The server rejected a request for a reason with no closer class (other HTTP 4xx)."""


_ANSWERS: dict[type[RemoteTaskError], tuple[str, int]] = {
    UnknownTaskError: ("unknown-task", 422),
    DuplicateTaskError: ("duplicate-task", 409),
    InvalidInputError: ("invalid-input", 422),
    InvalidScheduleError: ("invalid-schedule", 422),
    InvalidStatusError: ("invalid-status", 409),
    InvalidReferenceError: ("invalid-reference", 422),
    UnknownServiceError: ("unknown-service", 404),
    JobNotFoundError: ("job-not-found", 404),
    TaskError: ("task-error", 400),
    ConfigError: ("config-error", 400),
    SchemaError: ("schema-error", 503),
    StoreError: ("store-unavailable", 503),
    AuthenticationError: ("unauthenticated", 401),
    PermissionDeniedError: ("forbidden", 403),
    ServerUnavailableError: ("unavailable", 503),
    RequestError: ("bad-request", 400),
}
"""Each exception's stable code and the status that answers it: the HTTP status of a
problem document, and the fault code over XML-RPC. One table, read both ways."""
_CLASSES = {code: cls for cls, (code, _) in _ANSWERS.items()}


def _answer(exc: RemoteTaskError) -> tuple[str, int]:
    for cls in type(exc).__mro__:
        answer = _ANSWERS.get(cls)
        if answer is not None:
            return answer
    return "error", 400


def error_code(exc: RemoteTaskError) -> str:
    """The stable code an HTTP problem carries for this exception (its closest class)."""
    return _answer(exc)[0]


def error_status(exc: RemoteTaskError) -> int:
    """The HTTP status (and XML-RPC fault code) that answers this exception."""
    return _answer(exc)[1]


def error_class(code: str) -> type[RemoteTaskError] | None:
    """The exception class for a problem code, so a remote error raises the local class."""
    return _CLASSES.get(code)
