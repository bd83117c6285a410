"""UI sessions and failed logins in the database, so every server process shares them.

A session row is keyed by the SHA-256 of its id (the cookie holds the id itself), and
keeps the login token only XORed with a pad that lives in the cookie: neither the
database nor the cookie alone gives the token away.
"""

from __future__ import annotations

from remotetask import jsonvalue
from remotetask.store._sqlbase import SqlVerbs


class SessionVerbs(SqlVerbs):
    """Verbs on ``ui_sessions`` and ``ui_login_failures``."""

    def insert_session(self, id_hash: str, csrf: str, sealed_token: str, now: float) -> None:
        with self._tx(write=True) as cur:
            cur.execute(
                "INSERT INTO ui_sessions (id_hash, csrf, sealed_token, created, seen) "
                "VALUES (?, ?, ?, ?, ?)",
                (id_hash, csrf, sealed_token, now, now),
            )

    def get_session(self, id_hash: str) -> tuple[str, str, float, float, list[str]] | None:
        """(csrf, sealed token, created, seen, flashes) of a session, or None."""
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT csrf, sealed_token, created, seen, flashes FROM ui_sessions "
                "WHERE id_hash = ?",
                (id_hash,),
            )
            row = cur.fetchone()
        if row is None:
            return None
        return row[0], row[1], float(row[2]), float(row[3]), list(jsonvalue.loads(row[4]))

    def touch_session(self, id_hash: str, now: float) -> None:
        with self._tx(write=True) as cur:
            cur.execute("UPDATE ui_sessions SET seen = ? WHERE id_hash = ?", (now, id_hash))

    def set_flashes(self, id_hash: str, flashes: list[str]) -> None:
        with self._tx(write=True) as cur:
            cur.execute(
                "UPDATE ui_sessions SET flashes = ? WHERE id_hash = ?",
                (jsonvalue.dumps(flashes), id_hash),
            )

    def delete_session(self, id_hash: str) -> None:
        with self._tx(write=True) as cur:
            cur.execute("DELETE FROM ui_sessions WHERE id_hash = ?", (id_hash,))

    def prune_sessions(self, seen_before: float, created_before: float) -> int:
        with self._tx(write=True) as cur:
            cur.execute(
                "DELETE FROM ui_sessions WHERE seen < ? OR created < ?",
                (seen_before, created_before),
            )
            return cur.rowcount

    def count_login_failure(self, client: str, now: float, window: float) -> int:
        """Record a failed login of ``client``; return its failures in the current window."""
        with self._tx(write=True) as cur:
            cur.execute("DELETE FROM ui_login_failures WHERE window_start < ?", (now - window,))
            cur.execute(
                "INSERT INTO ui_login_failures (client, window_start, failures) VALUES (?, ?, 1) "
                "ON CONFLICT (client) DO UPDATE SET failures = ui_login_failures.failures + 1 "
                "RETURNING failures",
                (client, now),
            )
            return int(cur.fetchone()[0])

    def login_failures(self, client: str, now: float, window: float) -> tuple[int, float]:
        """Failures of ``client`` in its current window and when that window began."""
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT failures, window_start FROM ui_login_failures "
                "WHERE client = ? AND window_start >= ?",
                (client, now - window),
            )
            row = cur.fetchone()
        return (0, now) if row is None else (int(row[0]), float(row[1]))
