"""Who may do what: roles, API tokens and the principal, one model for API, XML-RPC and UI.

An API token is ``rt_`` followed by 43 URL-safe characters (256 random bits). The
database keeps only its SHA-256 digest; a request is authenticated by hashing the
presented secret and looking the digest up, so no secret is ever compared byte by
byte and timing reveals nothing about stored tokens. Checking a secret against the
store is ``App.tokens.verify``; this module holds only the values.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

from remotetask.errors import InvalidInputError

SECRET_PREFIX = "rt_"
ALL_SITES = "*"


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

    def allows(self, needed: Role | str) -> bool:
        """Whether this role includes ``needed``."""
        order = list(Role)
        return order.index(self) >= order.index(Role(needed))


def parse_role(value: str) -> Role:
    """The role named ``value``, or InvalidInputError listing the valid ones."""
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InvalidInputError(f"unknown role {value!r}: use one of {names}") from None


def sites_cover(patterns: tuple[str, ...], site: str) -> bool:
    """Whether one of the site patterns (``*`` wildcards) matches ``site`` ("" is the root)."""
    return any(fnmatchcase(site, pattern) for pattern in patterns)


@dataclass(frozen=True, slots=True)
class Token:
    """A stored API token, without its secret."""

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
        return sites_cover(self.sites, site)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a name for people, a role, and the site patterns it may see.

    Made from a verified token (``Principal.of``), or ``Principal.anonymous()`` when
    a server runs without authentication on loopback (everything is allowed then).
    """

    name: str
    role: Role
    sites: tuple[str, ...]
    """Site patterns, fnmatch-style: ``site1``, ``site*``, ``*`` (every site), ``""`` (root)."""
    token_id: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.role, Role):
            try:
                object.__setattr__(self, "role", Role(self.role))
            except ValueError:
                names = ", ".join(r.value for r in Role)
                raise ValueError(f"unknown role {self.role!r}; expected one of {names}") from None
        object.__setattr__(self, "sites", tuple(self.sites))

    @classmethod
    def of(cls, token: Token) -> Principal:
        return cls(token.name, token.role, token.sites, token.id)

    @classmethod
    def anonymous(cls) -> Principal:
        """The caller of a server that runs without tokens: every site, every role."""
        return cls("anonymous", Role.ADMIN, (ALL_SITES,))

    @property
    def all_sites(self) -> bool:
        """Whether the principal sees every site (needed to manage tokens)."""
        return ALL_SITES in self.sites

    def allows(self, role: Role | str) -> bool:
        """Whether this principal's role includes ``role``."""
        return self.role.allows(role)

    def sees(self, site: str) -> bool:
        """Whether one of the principal's site patterns matches ``site`` (case-sensitive)."""
        return sites_cover(self.sites, site)


TokenVerifier = Callable[[str], Principal | None]
"""Maps a secret to its principal, or None for an unknown, expired or revoked one."""


def new_secret() -> str:
    """A fresh token secret with 256 random bits."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest stored in place of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
