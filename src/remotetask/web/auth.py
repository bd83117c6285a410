"""Who is asking: bearer tokens (and HTTP Basic for XML-RPC), roles and site scopes.

Every route that touches data depends on ``require(role)`` or
``service_for(role)``. A service outside the token's sites answers 404, as if
it did not exist, so ids and names of other sites cannot be probed; a
visible service with a too-weak role answers 403.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from remotetask.app import App
from remotetask.auth import REQUIRED_ROLE, Action, Principal
from remotetask.errors import InvalidReferenceError, UnknownServiceError
from remotetask.refs import ServiceRef
from remotetask.service import TaskService
from remotetask.web.errors import Problem

_QUERY_TOKEN_NAMES = ("token", "access_token", "api_key")

bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `remotetask token create`")


def _unauthenticated(detail: str, scheme: str = "Bearer") -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": f'{scheme} realm="remotetask"'})


def _forbidden(detail: str) -> Problem:
    return Problem(403, detail)


class Authenticator:
    """Turns an Authorization header into a Principal, or raises 401."""

    def __init__(self, app: App, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    def from_secret(self, secret: str | None, scheme: str = "Bearer") -> Principal:
        """Authenticate a presented secret (None when no credentials were sent)."""
        if not self.enabled:
            return Principal.anonymous()
        if not secret:
            raise _unauthenticated(
                "an API token is required: Authorization: Bearer <token>", scheme
            )
        principal = self.app.tokens.verify(secret)
        if principal is None:
            raise _unauthenticated(
                "the API token is not valid (unknown, expired or revoked)", scheme
            )
        return principal

    def from_basic_or_bearer(self, header: str | None) -> Principal:
        """For XML-RPC: HTTP Basic with the token as password (any user name), or Bearer."""
        if not self.enabled:
            return Principal.anonymous()
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() == "bearer":
            return self.from_secret(value.strip(), "Basic")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _unauthenticated(
                    "the Basic credentials are not valid base64", "Basic"
                ) from None
            return self.from_secret(decoded.partition(":")[2], "Basic")
        return self.from_secret(None, "Basic")


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The authenticated caller of a JSON API request (tokens in URLs are refused)."""
    if any(name in request.query_params for name in _QUERY_TOKEN_NAMES):
        raise _unauthenticated("send the token in the Authorization header, never in the URL")
    authenticator: Authenticator = request.app.state.authenticator
    secret = None if credentials is None else credentials.credentials
    return authenticator.from_secret(secret)


def _check(caller: Principal, action: Action) -> None:
    """403 unless the one role table (``remotetask.auth.REQUIRED_ROLE``) allows ``action``."""
    if not caller.may(action):
        role = REQUIRED_ROLE[action].value
        raise _forbidden(f"{action} needs the {role} role; the token has {caller.role.value}")


def require(action: Action) -> Callable[[Principal], Principal]:
    """A dependency: an authenticated caller whose role is enough for ``action``."""

    def check(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        _check(caller, action)
        return caller

    check.action = action  # type: ignore[attr-defined]  # read by the role parity test
    return check


def resolve_service(app: App, caller: Principal, text: str, action: Action) -> TaskService:
    """The service ``text`` names, as the caller may see it: 404 if hidden, 403 if too weak."""
    try:
        ref = ServiceRef.parse(text)
    except InvalidReferenceError as exc:
        raise UnknownServiceError(f"no service {text!r}: {exc}") from None
    if not caller.sees(ref.site):
        raise UnknownServiceError(f"no service {ref}")
    _check(caller, action)
    return app.service(ref)


ServicePath = Annotated[
    str,
    Path(
        description="The service as `site@Service` (`@Service` for the root site)",
        examples=["site1@Converter"],
    ),
]


def service_for(action: Action) -> Callable[..., TaskService]:
    """A dependency: the ``{service}`` of the path, checked against the caller's token."""

    def resolve(
        request: Request, service: ServicePath, caller: Annotated[Principal, Depends(principal)]
    ) -> TaskService:
        return resolve_service(request.app.state.app, caller, service, action)

    resolve.action = action  # type: ignore[attr-defined]  # read by the role parity test
    return resolve


ReadService = Annotated[TaskService, Depends(service_for(Action.READ))]
"""The path's service, for a caller allowed to read."""
