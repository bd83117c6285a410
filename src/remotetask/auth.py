"""Who may do what: roles, API tokens and the principal, one model for API, XML-RPC and UI.

An API token is ``rt_`` followed by 43 URL-safe characters (256 random bits). The
database keeps only its SHA-256 digest; a request is authenticated by hashing the
presented secret and looking the digest up, so no secret is ever compared byte by
byte and timing reveals nothing about stored tokens. Checking a secret against the
store is ``App.tokens.verify``; this module holds only the values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from types import MappingProxyType

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


class Action(StrEnum):
    """Everything a caller may ask for; ``REQUIRED_ROLE`` says which role each needs.

    The JSON API, XML-RPC and the UI all check an action against that one table,
    so no transport can let a role do what another refuses.
    """

    READ = "read"
    """See services, tasks, jobs, cron jobs, errors, metrics."""
    ADD_JOB = "add job"
    """Add a job (also a clone of another job), or a delayed one."""
    START_JOB = "start job"
    """Queue a ``start later`` job."""
    CANCEL_JOB = "cancel job"
    """Cancel a waiting job or ask a running one to stop (one or ticked ones)."""
    RETRY_JOB = "retry job"
    """Queue an errored job again, with its input as it was or edited."""
    DELETE_JOB = "delete job"
    """Remove one finished job (or ticked ones)."""
    CANCEL_ALL = "cancel all"
    """Cancel every waiting job of a service."""
    RETRY_ERRORED = "retry errored"
    """Queue again all errored jobs of a service, or of one error group."""
    PROCESSING = "processing"
    """Start and stop a service's processing."""
    RUN_NOW = "run now"
    """Run a delayed job now instead of later, or a cron job once now."""
    PAUSE_CRON = "pause cron"
    """Pause and resume a cron job."""
    CLEAN = "clean"
    """Remove finished jobs of a service by status, filter or error group."""
    ADD_CRON = "add cron job"
    """Add a cron job."""
    CHANGE_CRON = "change cron job"
    """Change a cron or delayed job's schedule."""
    CREATE_SERVICE = "create service"
    MANAGE_TOKENS = "manage tokens"
    """Issue, list and revoke API tokens (with the ``*`` site pattern too)."""


REQUIRED_ROLE: Mapping[Action, Role] = MappingProxyType(
    {
        Action.READ: Role.READ,
        Action.ADD_JOB: Role.SUBMIT,
        Action.START_JOB: Role.SUBMIT,
        Action.CANCEL_JOB: Role.OPERATE,
        Action.RETRY_JOB: Role.OPERATE,
        Action.DELETE_JOB: Role.OPERATE,
        Action.CANCEL_ALL: Role.OPERATE,
        Action.RETRY_ERRORED: Role.OPERATE,
        Action.PROCESSING: Role.OPERATE,
        Action.RUN_NOW: Role.OPERATE,
        Action.PAUSE_CRON: Role.OPERATE,
        Action.CLEAN: Role.ADMIN,
        Action.ADD_CRON: Role.ADMIN,
        Action.CHANGE_CRON: Role.ADMIN,
        Action.CREATE_SERVICE: Role.ADMIN,
        Action.MANAGE_TOKENS: Role.ADMIN,
    }
)
"""The one role table: the least role each action needs, for every transport."""


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

    def may(self, action: Action | str) -> bool:
        """Whether this principal's role is enough for ``action`` (see ``REQUIRED_ROLE``)."""
        return self.role.allows(REQUIRED_ROLE[Action(action)])

    def sees(self, site: str) -> bool:
        """Whether one of the principal's site patterns matches ``site`` (case-sensitive)."""
        return sites_cover(self.sites, site)


IDLE_TIMEOUT = 2 * 60 * 60.0
"""A UI session unused this long (seconds) ends."""
MAX_AGE = 12 * 60 * 60.0
"""No UI session lives longer than this, used or not."""


@dataclass
class Session:
    """A logged-in browser: its CSRF token, the API token it logged in with, its messages."""

    key: str
    """SHA-256 of the session id: the row's key."""
    csrf: str
    token: str
    created: float
    seen: float
    flashes: list[str] = field(default_factory=list)


def csrf_matches(session: Session, submitted: object) -> bool:
    """Whether a form's CSRF field is this session's token (constant time, any text)."""
    if not isinstance(submitted, str):
        return False
    import hmac  # here, like the other hashing below: a worker never loads OpenSSL for it

    return hmac.compare_digest(session.csrf.encode(), submitted.encode("utf-8", "replace"))


TokenVerifier = Callable[[str], Principal | None]
"""Maps a secret to its principal, or None for an unknown, expired or revoked one."""


def new_secret() -> str:
    """A fresh token secret with 256 random bits."""
    import secrets

    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest stored in place of the secret."""
    import hashlib

    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
