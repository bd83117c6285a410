"""Who is asking: bearer tokens (and HTTP Basic for XML-RPC), roles, site scopes, rate limits.

Every route that touches data depends on ``require(action)`` or
``service_for(action)`` (or calls ``service_of``); the role each action needs is
the one table ``remotetask.auth.REQUIRED_ROLE``. A service outside the token's
sites answers 404, as if it did not exist, so ids and names of other sites cannot be probed; a
visible service with a too-weak role answers 403. The dependencies are async
and answer from memory when they can: a verified token is remembered for
``CACHE_SECONDS`` (revoking through the API forgets it at once; elsewhere it
takes effect within that time), so a request costs no database read and no
thread hand-off before its route runs. While the store does not answer (the
circuit is open), a token verified before keeps working and others get 503.
"""

from __future__ import annotations

import base64
import binascii
import functools
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from remotetask.app import App
from remotetask.auth import REQUIRED_ROLE, Action, Principal
from remotetask.errors import InvalidReferenceError, StoreError, UnknownServiceError
from remotetask.refs import ServiceRef
from remotetask.service import TaskService
from remotetask.web.circuit import Circuit
from remotetask.web.errors import Problem
from remotetask.web.ratelimit import RateLimiter

QUERY_TOKEN_NAMES = ("token", "access_token", "api_key")
CACHE_SECONDS = 2.0
"""How long a verified (or refused) token is remembered."""
CACHE_SIZE = 10_000

bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `remotetask token create`")


def _unauthenticated(detail: str, scheme: str = "Bearer") -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": f'{scheme} realm="remotetask"'})


def _forbidden(detail: str) -> Problem:
    return Problem(403, detail)


class Authenticator:
    """Turns an Authorization header into a Principal, or raises 401."""

    def __init__(
        self,
        app: App,
        enabled: bool = True,
        limiter: RateLimiter | None = None,
        circuit: Circuit | None = None,
    ) -> None:
        self.app = app
        self.enabled = enabled
        self.limiter = limiter or RateLimiter(0)
        self.circuit = circuit or Circuit(lambda: None)
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop every remembered token (after a revocation)."""
        with self._lock:
            self._cache.clear()

    async def from_secret(self, secret: str | None, scheme: str = "Bearer") -> Principal:
        """Authenticate a presented secret (None when no credentials were sent)."""
        if not self.enabled:
            return Principal.anonymous()
        if not secret:
            raise _unauthenticated(
                "an API token is required: Authorization: Bearer <token>", scheme
            )
        with self._lock:
            cached = self._cache.get(secret)
        if cached is not None and cached[0] > time.monotonic():
            principal = cached[1]
        else:
            principal = await self._verify(secret, cached)
        if principal is None:
            raise _unauthenticated(
                "the API token is not valid (unknown, expired or revoked)", scheme
            )
        return principal

    async def _verify(
        self, secret: str, stale: tuple[float, Principal | None] | None
    ) -> Principal | None:
        """Ask the store; while it does not answer, a token verified before still counts."""
        refusal = self.circuit.refusal()
        if refusal is not None:
            if stale is not None:
                return stale[1]
            raise refusal
        started = time.monotonic()
        try:
            principal = await run_in_threadpool(self.app.tokens.verify, secret)
        except StoreError as exc:
            self.circuit.failed(exc, time.monotonic() - started)
            if stale is not None:
                return stale[1]
            raise
        self.circuit.succeeded()
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[secret] = (time.monotonic() + CACHE_SECONDS, principal)
        return principal

    async def from_basic_or_bearer(self, header: str | None) -> Principal:
        """For XML-RPC: HTTP Basic with the token as password (any user name), or Bearer."""
        if not self.enabled:
            return Principal.anonymous()
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() == "bearer":
            return await self.from_secret(value.strip(), "Basic")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _unauthenticated(
                    "the Basic credentials are not valid base64", "Basic"
                ) from None
            return await self.from_secret(decoded.partition(":")[2], "Basic")
        return await self.from_secret(None, "Basic")

    def limit(self, caller: Principal, request: Request, cost: float = 1.0) -> None:
        """429 if the caller (its token, or its address without auth) is over its rate."""
        client = request.client.host if request.client is not None else "unknown"
        self.limiter.check(caller, client, cost)


def refuse_query_token(request: Request, scheme: str = "Bearer") -> None:
    """Tokens belong in the Authorization header, never in URLs (logs, history)."""
    if not request.scope.get("query_string"):
        return  # most requests: no query to parse
    if any(name in request.query_params for name in QUERY_TOKEN_NAMES):
        raise _unauthenticated(
            "send the token in the Authorization header, never in the URL", scheme
        )


async def authenticate(request: Request) -> Principal:
    """The authenticated caller of a request, within its rate limit (``request.state.caller``)."""
    refuse_query_token(request)
    authenticator: Authenticator = request.app.state.authenticator
    scheme, _, secret = (request.headers.get("authorization") or "").partition(" ")
    presented = secret.strip() if scheme.lower() == "bearer" else None
    caller = await authenticator.from_secret(presented)
    authenticator.limit(caller, request)
    request.state.caller = caller
    return caller


async def principal(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The authenticated caller of a JSON API request, within its rate limit."""
    return await authenticate(request)


async def service_of(request: Request, action: Action) -> TaskService:
    """For lean routes: authenticate, then the path's service as the caller may see it."""
    caller = await authenticate(request)
    return await resolve_service_async(
        request.app.state.app, caller, request.path_params["service"], action
    )


def _check(caller: Principal, action: Action) -> None:
    """403 unless the one role table (``remotetask.auth.REQUIRED_ROLE``) allows ``action``."""
    if not caller.may(action):
        role = REQUIRED_ROLE[action].value
        raise _forbidden(f"{action} needs the {role} role; the token has {caller.role.value}")


def require(action: Action) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: an authenticated caller whose role is enough for ``action``."""

    async def check(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        _check(caller, action)
        return caller

    check.action = action  # type: ignore[attr-defined]  # read by the role parity test
    return check


@functools.lru_cache(maxsize=1024)
def _parsed_ref(text: str) -> ServiceRef:
    """``ServiceRef.parse``, remembered: every request names its service in its path."""
    return ServiceRef.parse(text)


def _visible_ref(caller: Principal, text: str, action: Action) -> ServiceRef:
    try:
        ref = _parsed_ref(text)
    except InvalidReferenceError as exc:
        raise UnknownServiceError(f"no service {text!r}: {exc}") from None
    if not caller.sees(ref.site):
        raise UnknownServiceError(f"no service {ref}")
    _check(caller, action)
    return ref


def resolve_service(app: App, caller: Principal, text: str, action: Action) -> TaskService:
    """The service ``text`` names, as the caller may see it: 404 if hidden, 403 if too weak."""
    return app.service(_visible_ref(caller, text, action))


async def resolve_service_async(
    app: App, caller: Principal, text: str, action: Action
) -> TaskService:
    """``resolve_service`` from async code: the store is read in a thread, and only once."""
    ref = _visible_ref(caller, text, action)
    known = app.known_service(ref)
    return known if known is not None else await run_in_threadpool(app.service, ref)


ServicePath = Annotated[
    str,
    Path(
        description="The service as `site@Service` (`@Service` for the root site)",
        examples=["site1@Converter"],
    ),
]


def service_for(action: Action) -> Callable[..., Awaitable[TaskService]]:
    """A dependency: the ``{service}`` of the path, checked against the caller's token."""

    async def resolve(
        request: Request, service: ServicePath, caller: Annotated[Principal, Depends(principal)]
    ) -> TaskService:
        return await resolve_service_async(request.app.state.app, caller, service, action)

    resolve.action = action  # type: ignore[attr-defined]  # read by the role parity test
    return resolve


ReadService = Annotated[TaskService, Depends(service_for(Action.READ))]
"""The path's service, for a caller allowed to read."""
