"""UI sessions and the login rate limit, kept in the app's database.

Only a login creates a session, so anonymous visitors leave no state behind
(failed logins aside: one counter row per client address, for the rate limit).
Sessions live in the database: they survive a restart and every ``serve``
process behind one address shares them.

The cookie is ``<id>.<pad>``. The database row is keyed by the SHA-256 of the whole
cookie (so a cookie with a forged pad names no session and cannot end the real one)
and keeps the login token XORed with the pad (a one-time pad of random bytes), so
a copy of the database holds no usable token, and neither does a cookie alone.
The token is verified again on every request, so revoking it ends its sessions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import secrets
from collections.abc import Callable
from typing import Final

from remotetask.auth import IDLE_TIMEOUT, MAX_AGE, Session
from remotetask.clock import Clock
from remotetask.store import Store

TOUCH_EVERY: Final = 60.0
"""How stale the recorded last use may get before a request writes it again."""
LOGIN_WINDOW: Final = 300.0
MAX_FAILURES: Final = 10
"""Failed logins a client address may make per LOGIN_WINDOW seconds."""


class Logins:
    """Opens, finds and ends UI sessions; counts failed logins per client address."""

    def __init__(self, store: Callable[[], Store], clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def open(self, token: str) -> tuple[str, Session]:
        """A new session for a verified token; returns the cookie value and the session."""
        now = self._clock.now()
        store = self._store()
        store.prune_sessions(now - IDLE_TIMEOUT, now - MAX_AGE)
        session_id = secrets.token_urlsafe(32)
        secret = token.encode("utf-8")
        pad = secrets.token_bytes(len(secret))
        sealed = bytes(a ^ b for a, b in zip(secret, pad, strict=True)).hex()
        pad_text = base64.urlsafe_b64encode(pad).decode().rstrip("=")
        cookie = f"{session_id}.{pad_text}"
        session = Session(_key(cookie), secrets.token_urlsafe(32), token, now, now)
        store.insert_session(session.key, session.csrf, sealed, now)
        return cookie, session

    def find(self, cookie: str | None) -> Session | None:
        """The live session a cookie names; None if absent, malformed, ended or expired."""
        if not cookie or not cookie.isascii() or cookie.count(".") != 1:
            return None
        pad_text = cookie.partition(".")[2]
        try:
            pad = base64.urlsafe_b64decode(pad_text + "=" * (-len(pad_text) % 4))
        except (binascii.Error, ValueError):
            return None
        key = _key(cookie)  # the pad is part of the key: a forged pad finds no session
        store = self._store()
        row = store.get_session(key)
        if row is None:
            return None
        csrf, sealed, created, seen, flashes = row
        now = self._clock.now()
        if now - seen > IDLE_TIMEOUT or now - created > MAX_AGE:
            store.delete_session(key)
            return None
        sealed_bytes = bytes.fromhex(sealed)
        if len(pad) != len(sealed_bytes):
            return None
        try:
            token = bytes(a ^ b for a, b in zip(sealed_bytes, pad, strict=True)).decode("utf-8")
        except UnicodeDecodeError:
            return None
        if now - seen > TOUCH_EVERY:
            store.touch_session(key, now)
            seen = now
        return Session(key, csrf, token, created, seen, flashes)

    def end(self, session: Session) -> None:
        self._store().delete_session(session.key)

    def flash(self, session: Session, message: str) -> None:
        """Keep a message for the next page this browser shows (post/redirect/get)."""
        session.flashes.append(message)
        self._store().set_flashes(session.key, session.flashes)

    def take_flashes(self, session: Session) -> list[str]:
        taken, session.flashes = session.flashes, []
        if taken:
            self._store().set_flashes(session.key, [])
        return taken

    # -- the login rate limit ---------------------------------------------------------

    def blocked_for(self, client: str) -> float:
        """Seconds until ``client`` may try to log in again (0: it may now)."""
        now = self._clock.now()
        failures, since = self._store().login_failures(client_key(client), now, LOGIN_WINDOW)
        return max(0.0, since + LOGIN_WINDOW - now) if failures >= MAX_FAILURES else 0.0

    def failed(self, client: str) -> None:
        """Count a failed login of ``client``."""
        self._store().count_login_failure(client_key(client), self._clock.now(), LOGIN_WINDOW)


def client_key(address: str) -> str:
    """The rate limit's key for an address: IPv6 clients count per /64 network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()
