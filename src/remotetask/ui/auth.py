"""Who is using the UI: the small interface the server's token store plugs into.

The UI never reads tokens itself. The server hands ``create_ui_app`` a
``TokenVerifier`` that maps a secret token to a ``Principal`` (or None), so the
UI applies exactly the roles and site scopes the HTTP API applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Final

ROLES: Final = ("read", "submit", "operate", "admin")
"""Roles from least to most powerful; each includes the ones before it."""


@dataclass(frozen=True)
class Principal:
    """A verified token holder: a name for people, a role, and the sites it may see."""

    name: str
    role: str
    sites: tuple[str, ...]
    """Site patterns, fnmatch-style: ``site1``, ``site*``, ``*`` (every site), ``""`` (root)."""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {', '.join(ROLES)}")

    def can(self, role: str) -> bool:
        """Whether this principal's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def sees(self, site: str) -> bool:
        """Whether one of the principal's site patterns matches ``site`` (case-sensitive)."""
        return any(fnmatchcase(site, pattern) for pattern in self.sites)


TokenVerifier = Callable[[str], Principal | None]
"""Maps a secret token to its principal, or None for an unknown, expired or revoked one."""
