"""Server-side UI sessions behind an HMAC-signed cookie, with CSRF tokens and flashes.

The cookie holds only a random session id and its HMAC-SHA256 under the
secret key, so a forged or altered cookie is refused before any lookup. The
session keeps the token the user logged in with and re-verifies it on every
request: a revoked or expired token ends the session at once. Sessions live
in this process's memory (``remotetask serve`` is one process); a restart
logs everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

COOKIE_NAME: Final = "remotetask_ui"
IDLE_TIMEOUT: Final = 2 * 60 * 60.0
"""A session unused this long (seconds) is forgotten."""
MAX_AGE: Final = 12 * 60 * 60.0
"""No session lives longer than this, used or not."""
MAX_SESSIONS: Final = 10_000
"""Oldest sessions are dropped beyond this, so anonymous login pages cannot fill memory."""


@dataclass
class Session:
    """One browser's state: its CSRF token, the token it logged in with, pending messages."""

    id: str
    csrf: str
    created: float
    seen: float
    token: str | None = None
    flashes: list[str] = field(default_factory=list)

    def flash(self, message: str) -> None:
        """Keep a message for the next page this browser shows (post/redirect/get)."""
        self.flashes.append(message)

    def take_flashes(self) -> list[str]:
        taken, self.flashes = self.flashes, []
        return taken


class SessionStore:
    """Sessions by id, thread-safe; cookies are ``<id>.<hmac>``."""

    def __init__(self, secret_key: bytes) -> None:
        if len(secret_key) < 16:
            raise ValueError("the UI secret key must be at least 16 bytes")
        self._key = secret_key
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def new(self, token: str | None = None) -> Session:
        """A fresh session with a new id and CSRF token (used anonymously and at login)."""
        now = time.time()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now, token)
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session

    def drop(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)

    def from_cookie(self, cookie: str | None) -> Session | None:
        """The live session a cookie names, or None if it is absent, forged or expired."""
        if not cookie or "." not in cookie:
            return None
        session_id, _, mac = cookie.partition(".")
        if not hmac.compare_digest(mac, self._mac(session_id)):
            return None
        now = time.time()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.seen > IDLE_TIMEOUT or now - session.created > MAX_AGE:
                del self._sessions[session_id]
                return None
            session.seen = now
            self._sessions.move_to_end(session_id)
            return session

    def cookie(self, session: Session) -> str:
        return f"{session.id}.{self._mac(session.id)}"

    def _mac(self, session_id: str) -> str:
        message = b"remotetask-ui-session:" + session_id.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def csrf_matches(session: Session, submitted: str | None) -> bool:
    """Whether a form's CSRF field is this session's token (constant-time)."""
    return submitted is not None and hmac.compare_digest(session.csrf, submitted)
