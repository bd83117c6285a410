"""``SqlStore``: the verbs of every SQL backend, and its schema handling, written once.

The verbs live in mixins cut by what they touch (``sql_jobs``, ``sql_cron``,
``sql_tokens``, and for the operator's console ``sql_listing``, ``sql_history``,
``sql_sessions``). A backend supplies connections and transactions (``_tx``),
the one statement that differs between dialects (the claim), and two small
schema hooks (``_table_names`` and ``_migration_lock``); how a schema is
checked, migrated and refused is decided here, by ``migrate.check_schema``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from remotetask.errors import SchemaError, UnknownServiceError
from remotetask.refs import ServiceRef
from remotetask.store._sqlbase import Cursor
from remotetask.store.migrate import (
    check_schema,
    latest_version,
    load_migrations,
    newer_schema_error,
)
from remotetask.store.sql_cron import CronVerbs
from remotetask.store.sql_history import HistoryVerbs
from remotetask.store.sql_jobs import JobVerbs
from remotetask.store.sql_listing import ListingVerbs
from remotetask.store.sql_sessions import SessionVerbs
from remotetask.store.sql_tokens import TokenVerbs

log = logging.getLogger("remotetask")


class SqlStore(HistoryVerbs, JobVerbs, ListingVerbs, CronVerbs, TokenVerbs, SessionVerbs, ABC):
    """Store verbs in portable SQL over a backend's transactions."""

    dialect: str
    """The folder of this backend's migrations: ``sqlite`` or ``postgresql``."""
    _where: str
    """The database as messages and logs name it (never with a password)."""

    def __init__(self) -> None:
        self._service_ids: dict[ServiceRef, int] = {}

    @abstractmethod
    def close(self) -> None: ...

    # -- services ---------------------------------------------------------------------

    def ensure_service(self, ref: ServiceRef) -> None:
        with self._tx(write=True) as cur:
            cur.execute(
                "INSERT INTO services (site, name) VALUES (?, ?) "
                "ON CONFLICT (site, name) DO NOTHING",
                (ref.site, ref.name),
            )

    def services(self) -> list[ServiceRef]:
        with self._tx(write=False) as cur:
            cur.execute("SELECT site, name FROM services ORDER BY site, name")
            return [ServiceRef(site, name) for site, name in cur.fetchall()]

    def _service_id(self, cur: Cursor, ref: ServiceRef) -> int:
        cached = self._service_ids.get(ref)
        if cached is not None:
            return cached
        cur.execute("SELECT id FROM services WHERE site = ? AND name = ?", (ref.site, ref.name))
        row = cur.fetchone()
        if row is None:
            raise UnknownServiceError(f"no service {ref}")
        self._service_ids[ref] = int(row[0])
        return int(row[0])

    # -- schema -----------------------------------------------------------------------

    @abstractmethod
    def _table_names(self, cur: Cursor) -> set[str]:
        """The user tables of the database (or schema) this store works in."""

    def _migration_lock(self, cur: Cursor) -> None:
        """Make concurrent migrations queue inside the transaction; the write lock does here.

        A backend whose write transactions do not exclude each other takes a lock
        that ends with the transaction.
        """

    def _verify_schema(self, auto_migrate: bool) -> None:
        """On open: refuse a newer, foreign or damaged database; upgrade an older one if allowed.

        The store is closed if it is refused.
        """
        try:
            check_schema(
                self._where,
                self.schema_version(),
                self.latest_schema_version(),
                auto_migrate,
                self.migrate,
            )
        except BaseException:
            self.close()
            raise

    def latest_schema_version(self) -> int:
        return latest_version(self.dialect)

    def schema_version(self) -> int:
        with self._tx(write=False) as cur:
            return self._stored_version(cur) or 0

    def probe_write(self) -> None:
        with self._tx(write=True) as cur:
            cur.execute("UPDATE schema_version SET version = version")

    def migrate(self) -> int:
        """Apply pending migrations in one transaction, once however many processes try."""
        migrations = load_migrations(self.dialect)
        latest = len(migrations)
        with self._tx(write=True) as cur:
            self._migration_lock(cur)
            stored = self._stored_version(cur)
            current = stored or 0
            if current > latest:
                raise newer_schema_error(self._where, current, latest)
            if stored is None:
                cur.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                cur.execute("INSERT INTO schema_version (version) VALUES (0)")
            for migration in migrations[current:]:
                for statement in migration.statements:
                    cur.execute(statement)
            cur.execute("UPDATE schema_version SET version = ?", (latest,))
        if current < latest:
            log.info("%s: applied %d migration(s)", self._where, latest - current)
        return latest - current

    def _stored_version(self, cur: Cursor) -> int | None:
        """The version in ``schema_version``; None for an empty database.

        A database with tables but no ``schema_version`` is someone else's, and one
        whose ``schema_version`` has no row is damaged: both are refused.
        """
        tables = self._table_names(cur)
        if "schema_version" not in tables:
            if tables:
                raise SchemaError(
                    f"{self._where} holds tables that are not remotetask's; refusing to use it"
                )
            return None
        cur.execute("SELECT version FROM schema_version")
        row = cur.fetchone()
        if row is None:
            raise SchemaError(
                f"{self._where}: the schema_version table is empty; the database is damaged"
            )
        return int(row[0])
