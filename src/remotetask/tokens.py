"""The API tokens of an app's database: issue, verify, list and revoke them.

Transports (HTTP API, XML-RPC, UI, the ``token`` command) go through ``App.tokens``
and never read the token table themselves. Only the SHA-256 of a secret is stored;
see ``remotetask.auth`` for the values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from remotetask.auth import Principal, Role, Token, hash_secret, new_secret, parse_role
from remotetask.clock import Clock
from remotetask.errors import InvalidInputError
from remotetask.store import Store

TOUCH_EVERY_SECONDS = 60.0
"""``last_used`` is written at most this often per token, to keep reads read-only."""


def issue_token(
    store: Store,
    name: str,
    role: Role | str,
    sites: Sequence[str],
    now: float,
    expires: float | None = None,
) -> tuple[Token, str]:
    """Create a token; return it and its secret, which is never available again."""
    if not name.strip():
        raise InvalidInputError("a token needs a name")
    if not sites:
        raise InvalidInputError("a token needs at least one site pattern ('*' for all sites)")
    secret = new_secret()
    chosen = role if isinstance(role, Role) else parse_role(role)
    return store.insert_token(name, hash_secret(secret), chosen, list(sites), now, expires), secret


class Tokens:
    """An app's API tokens; ``App.tokens``."""

    def __init__(self, store: Callable[[], Store], clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()

    def issue(
        self,
        name: str,
        role: Role | str,
        sites: Sequence[str],
        *,
        expires_in: float | None = None,
    ) -> tuple[Token, str]:
        """Create a token valid for ``expires_in`` seconds (forever by default).

        Returns the token and its secret; the secret is never available again.
        """
        now = self._clock.now()
        expires = None if expires_in is None else now + expires_in
        return issue_token(self._store(), name, role, sites, now, expires)

    def verify(self, secret: str) -> Principal | None:
        """The principal of an active token with this secret; None if there is none."""
        now = self._clock.now()
        token = self._store().token_by_hash(hash_secret(secret))
        if token is None or not token.active(now):
            return None
        self._touch(token.id, now)
        return Principal.of(token)

    def list(self) -> list[Token]:
        """Every token, oldest first (never their secrets)."""
        return self._store().list_tokens()

    def revoke(self, token_id: int) -> bool:
        """Revoke a token for good; False if it does not exist or is already revoked."""
        return self._store().revoke_token(token_id, self._clock.now())

    def count(self) -> int:
        """How many tokens exist, revoked ones included (0 means a fresh database)."""
        return self._store().count_tokens()

    def _touch(self, token_id: int, now: float) -> None:
        with self._lock:
            last = self._touched.get(token_id)
            if last is not None and now - last < TOUCH_EVERY_SECONDS:
                return
            self._touched[token_id] = now
        self._store().touch_token(token_id, now)
