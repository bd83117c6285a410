"""Service references (``site@Service``) and autostart directives (``*@*``).

A service lives in a site; the root site is the empty string, so ``@Service``
names a root service. The same notation is used in configuration, the CLI,
URLs and the client, so parsing lives here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from remotetask.errors import InvalidReferenceError

ROOT_SITE = ""
WILDCARD = "*"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")


@dataclass(frozen=True, slots=True, order=True)
class ServiceRef:
    """A parsed ``site@Service`` reference."""

    site: str
    name: str

    @classmethod
    def parse(cls, text: str) -> ServiceRef:
        """Parse ``site@Service`` or ``@Service``; raise InvalidReferenceError otherwise."""
        site, name = _split(text)
        if site != ROOT_SITE:
            _check_name(site, "site", text)
        _check_name(name, "service", text)
        return cls(site, name)

    @property
    def site_label(self) -> str:
        """The site as log lines show it: the root site is ``root``."""
        return self.site or "root"

    @property
    def thread_name(self) -> str:
        """Name of the processing thread: ``remotetasks.<site>.<Service>``."""
        if self.site == ROOT_SITE:
            return f"remotetasks.{self.name}"
        return f"remotetasks.{self.site}.{self.name}"

    def __str__(self) -> str:
        return f"{self.site}@{self.name}"


@dataclass(frozen=True, slots=True)
class Directive:
    """An autostart directive: a reference whose site or name may be ``*``."""

    text: str
    site: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Directive:
        """Parse one directive such as ``site1@*``, ``*@Service`` or ``@Root``."""
        text = text.strip()
        site, name = _split(text)
        if site not in (ROOT_SITE, WILDCARD):
            _check_name(site, "site", text)
        if name != WILDCARD:
            _check_name(name, "service", text)
        return cls(text, site, name)

    def matches(self, ref: ServiceRef) -> bool:
        """Whether this directive selects the service ``ref``."""
        site_ok = self.site == WILDCARD or self.site == ref.site
        return site_ok and (self.name == WILDCARD or self.name == ref.name)


def parse_directives(text: str | list[str] | tuple[str, ...]) -> list[Directive]:
    """Split a comma-separated directive list (as in the original's zope.conf) or take a list."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    return [Directive.parse(part) for part in parts if part.strip()]


def _split(text: str) -> tuple[str, str]:
    if text.count("@") != 1:
        raise InvalidReferenceError(
            f"{text!r} is not a service reference: expected 'site@Service' or '@Service'"
        )
    site, name = text.split("@")
    return site, name


def _check_name(value: str, what: str, text: str) -> None:
    if not _NAME.fullmatch(value):
        raise InvalidReferenceError(
            f"{text!r}: {what} name {value!r} must be 1-100 letters, digits, '_', '.' or '-'"
        )
