"""API tokens: roles, site scopes and the secret's hash (the secret itself is never stored).

A token is ``rt_`` followed by 43 URL-safe characters (256 random bits). The
database keeps only its SHA-256 digest; a request is authenticated by hashing
the presented secret and looking the digest up, so no secret is ever compared
byte by byte and timing reveals nothing about stored tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from remotetask.errors import InvalidInputError

if TYPE_CHECKING:
    from remotetask.store.base import Store

SECRET_PREFIX = "rt_"


class Role(StrEnum):
    """What a token may do; each role includes the ones before it."""

    READ = "read"
    """List and read tasks, services, jobs and metrics."""
    SUBMIT = "submit"
    """Also add jobs and start ``start later`` jobs."""
    OPERATE = "operate"
    """Also cancel, retry and delete jobs, cancel all, start and stop processing."""
    ADMIN = "admin"
    """Also cron jobs, services, clean, and tokens."""

    def allows(self, needed: Role) -> bool:
        """Whether this role includes ``needed``."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class Token:
    """A stored token, without its secret."""

    id: int
    name: str
    role: Role
    sites: tuple[str, ...]
    """Site patterns (``*`` wildcards; the root site is the empty string, matched by ``*``)."""
    created: float
    expires: float | None = None
    revoked: float | None = None
    last_used: float | None = None

    def active(self, now: float) -> bool:
        """Not revoked and not expired at ``now``."""
        return self.revoked is None and (self.expires is None or now < self.expires)

    def sees(self, site: str) -> bool:
        """Whether the token's site patterns cover ``site``."""
        return any(fnmatchcase(site, pattern) for pattern in self.sites)


def new_secret() -> str:
    """A fresh token secret with 256 random bits."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest stored in place of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_role(value: str) -> Role:
    """The role named ``value``, or InvalidInputError listing the valid ones."""
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InvalidInputError(f"unknown role {value!r}: use one of {names}") from None


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
