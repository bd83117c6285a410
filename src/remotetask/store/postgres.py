"""The PostgreSQL store: many worker processes on many machines sharing one database.

The verbs are the shared SQL of ``SqlStore``; this module adds what is
PostgreSQL's own: a connection pool that survives a server restart, short
transactions with lock and statement timeouts, the ``FOR UPDATE SKIP LOCKED``
claim, migrations serialised by a transaction-level advisory lock, and
LISTEN/NOTIFY as an early wake-up for idle workers (polling stays the real
mechanism, so a lost notification costs only latency).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool

from remotetask.errors import StoreError
from remotetask.failures import normalise
from remotetask.jobs import CANCELLED, DELAYED, PROCESSING, QUEUED
from remotetask.refs import ServiceRef
from remotetask.store._sqlbase import JOB_COLUMNS, Cursor
from remotetask.store.base import Claim, Finish, NewJob
from remotetask.store.pglisten import CHANNEL, Listener
from remotetask.store.sql import SqlStore
from remotetask.store.sql_health import postgres_health

LOCK_TIMEOUT_MS = 5_000
STATEMENT_TIMEOUT_MS = 30_000
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
POOL_TIMEOUT_S = 10.0
POOL_MAX_SIZE = 10
CLAIMED = JOB_COLUMNS.replace("s.site, s.name", "?::text, ?::text")
"""``JOB_COLUMNS`` as a claim's RETURNING gives them, without joining ``services``."""
SIDE_THREADS = 2
"""Claims running beside finishes at once (one per service storing at the same moment)."""
MIGRATION_LOCK = 0x7274  # "rt": the first key of our two-int advisory locks
# Statuses are literals, not parameters: a prepared (generic) plan can then prove the
# jobs_waiting partial index applies and never scans finished jobs.
CLAIM_BATCH = (
    "WITH c AS (SELECT id FROM jobs WHERE service_id = ? "
    f"AND status IN ('{QUEUED}', '{DELAYED}') "
    f"AND ((status = '{QUEUED}' AND (next_call IS NULL OR next_call <= ?)) "
    f"OR (status = '{DELAYED}' AND next_call <= ?)) "
    "ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) "
    f"UPDATE jobs j SET status = '{PROCESSING}', attempts = j.attempts + 1, "
    "started = ?, ended = NULL, lease_until = ?, worker = ?, "
    "claim = replace(gen_random_uuid()::text, '-', ''), "
    "cancel_requested = 0, progress = NULL, progress_message = NULL "
    "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS a "
    f"WHERE j.id = ANY(ARRAY(SELECT id FROM c)) RETURNING {CLAIMED}"
)
"""The next ``?`` waiting jobs of a service, oldest first, claimed in one statement
(parameters: service id, now twice, limit, started, lease end, worker, site, name).

The claimed rows are found again by ``id = ANY(ARRAY(...))``, a list the planner cannot
size and so looks up in the primary key: joined to the CTE instead, an analysed table
of some ten thousand jobs got a hash join over a sequential scan of every job for each
batch (9-11 ms for 256 claims, against 4.4-5.3 ms)."""
FINISH_COLUMNS = (
    ("id", "bigint"),
    ("claim", "text"),
    ("status", "text"),
    ("result", "text"),
    ("error", "text"),
    ("traceback", "text"),
    ("next_call", "float8"),
    ("ended", "float8"),
    ("error_type", "text"),
    ("error_group", "text"),
)
"""``finish_many``'s columns, in the order of each run's JSON array."""
FINISH_BATCH = (
    "WITH v AS (SELECT "
    + ", ".join(f"(e->>{n})::{kind} AS {name}" for n, (name, kind) in enumerate(FINISH_COLUMNS))
    + " FROM jsonb_array_elements(?::jsonb) AS e), "
    "done AS (UPDATE jobs j SET "
    f"status = CASE WHEN j.cancel_requested = 1 THEN '{CANCELLED}' ELSE v.status END, "
    "result = v.result, error = v.error, traceback = v.traceback, "
    "next_call = v.next_call, ended = v.ended, claim = NULL, lease_until = NULL, "
    "error_type = v.error_type, error_group = v.error_group "
    "FROM v WHERE j.id = ANY(ARRAY(SELECT id FROM v)) AND j.id = v.id AND j.claim = v.claim "
    "RETURNING j.id, j.attempts, j.started, j.ended, j.error, j.error_type, "
    "j.traceback), "
    "kept AS (INSERT INTO job_errors (job_id, attempt, started, ended, error, "
    "error_type, traceback) SELECT * FROM done WHERE error IS NOT NULL) "
    "SELECT id FROM done"
)
"""Every finish of a batch in one statement (see ``PostgresStore._finish_rows``).

The rows are found by ``id = ANY(ARRAY(...))`` over the batch's ids, a list the planner
cannot size, so the plan looks them up in the primary key whatever the table's
statistics say (``tests/store/test_postgres_batches.py``). Joined only to the JSON's
rows, a fresh or never-analysed table got a sequential scan of every job for each batch
(21 ms for 64 of 13,000 jobs, against 1.1 ms); with the ids as a second parameter, a
custom plan still chose one for 256 of 10,000 (22-26 ms for 512 of 100,000 never
analysed, against 10-13 ms)."""

RENEW_BATCH = (
    "WITH v AS (SELECT (e->>0)::bigint AS id, e->>1 AS claim "
    "FROM jsonb_array_elements(?::jsonb) AS e) "
    "UPDATE {table} t SET lease_until = ? FROM v "
    "WHERE t.id = ANY(ARRAY(SELECT id FROM v)) AND t.id = v.id AND t.claim = v.claim "
    "RETURNING t.claim"
)
"""The lease renewal of a batch of (id, claim key) pairs of ``{table}`` in one statement
(found by primary key, as ``FINISH_BATCH``); it returns the keys that still matched."""

log = logging.getLogger("remotetask")


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """The shared SQL's ``?`` placeholders as psycopg's ``%s`` (our SQL has no ``?`` literals)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgCursor:
    """A psycopg cursor that speaks the shared SQL's ``?`` placeholders."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(to_pyformat(sql), tuple(params))

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Per-connection limits: a stuck lock or query fails fast instead of hanging a worker."""
    conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
    conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    conn.execute(f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_TIMEOUT_MS}")


class PostgresStore(SqlStore):
    """Store on a PostgreSQL database (the schema is the one on the URL's search_path)."""

    dialect = "postgresql"
    reads_never_wait = False
    floor_sql = "CAST(FLOOR({}) AS BIGINT)"

    def __init__(
        self,
        url: str,
        *,
        auto_migrate: bool = False,
        verify: bool = True,
        max_connections: int = POOL_MAX_SIZE,
    ) -> None:
        super().__init__()
        self.url = url
        self._where = _redacted(url)
        self._listener: Listener | None = None
        self._backends: set[int] = set()
        """The server processes of this store's pool: its listener ignores their
        notifications, since every insert here wakes this process's processor itself."""
        self._side: ThreadPoolExecutor | None = None
        self._side_lock = threading.Lock()
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            configure=self._configure,
            timeout=POOL_TIMEOUT_S,
            reconnect_timeout=POOL_TIMEOUT_S,
            name="remotetask",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=POOL_TIMEOUT_S)
        except psycopg_pool.PoolTimeout as exc:
            self._pool.close()
            raise StoreError(f"cannot connect to {self._where}: {exc}") from None
        if verify:
            self._verify_schema(auto_migrate)

    # -- connections ------------------------------------------------------------------

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        _configure(conn)
        self._backends.add(conn.info.backend_pid)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        with self._side_lock:
            if self._side is not None:
                self._side.shutdown()
                self._side = None
        self._pool.close()

    @contextmanager
    def _tx(self, write: bool, single: bool = False) -> Iterator[Cursor]:
        """One short transaction.

        Reads, and writes made of a single statement, run in autocommit: each statement
        is atomic with its own snapshot, and BEGIN/COMMIT would add two round trips.
        """
        with _store_errors(self._where), self._pool.connection() as conn:
            if write and not single:
                with conn.transaction(), conn.cursor() as cur:
                    yield PgCursor(cur)
            else:
                with conn.cursor() as cur:
                    yield PgCursor(cur)

    def health(self) -> dict[str, float]:
        with self._tx(write=False) as cur:
            return postgres_health(cur)

    # -- the dialect's claim ----------------------------------------------------------

    def _claim_rows(
        self,
        cur: Cursor,
        ref: ServiceRef,
        service_id: int,
        now: float,
        limit: int,
        params: Sequence[Any],
    ) -> list[Any]:
        """One statement (it runs without BEGIN/COMMIT, see ``single``).

        The claim does not wait for its WAL flush (``synchronous_commit`` off for this
        statement): if the server crashes before the flush, the job is simply still
        queued and runs again, which at-least-once allows, and the run's completion,
        which does wait, flushes the claim with it.
        """
        cur.execute(CLAIM_BATCH, (service_id, now, now, limit, *params, ref.site, ref.name))
        return cur.fetchall()

    # -- the hot path's finish, one statement for a batch --------------------------

    def finish_many(
        self,
        finishes: Sequence[Finish],
        ref: ServiceRef,
        limit: int,
        worker: str,
        now: float,
        lease_until: float,
    ) -> tuple[list[bool], list[Claim] | None]:
        """The batch in one statement and the claim in another, at the same time.

        Each is atomic on its own and neither needs BEGIN/COMMIT. They are kept
        apart because the claim's commit does not wait for its WAL flush and the
        finishes' must, and they run side by side on two connections (they touch
        different rows: claimed jobs are waiting, finished ones are running), so a
        batch costs the longer of the two rather than their sum. A failed claim
        leaves the stored finishes standing (see ``Store.finish_many``); failed
        finishes hand the jobs just claimed back before the error goes up.
        """
        if not finishes:
            return [], self._claim_or_none(ref, now, limit, worker, lease_until)
        claiming = (
            self._side_thread().submit(self._claim_or_none, ref, now, limit, worker, lease_until)
            if limit > 0
            else None
        )
        try:
            with self._tx(write=True, single=True) as cur:
                stored = self._finish_rows(cur, finishes)
        except BaseException:
            if claiming is not None:
                for claim in claiming.result() or []:
                    self._release_quietly(claim)
            raise
        return stored, [] if claiming is None else claiming.result()

    def _claim_or_none(
        self, ref: ServiceRef, now: float, limit: int, worker: str, lease_until: float
    ) -> list[Claim] | None:
        """The claim of ``finish_many``: its failure is logged and gives ``None``.

        Whatever it raises: the finishes beside it are committed by then, and an error
        going up from ``finish_many`` would report them as not stored (their observers
        never told, the log saying they run again).
        """
        if limit <= 0:
            return []
        try:
            return self.claim(ref, now, limit, worker, lease_until)
        except StoreError as exc:
            log.warning("claiming with a batch of outcomes failed: %s", exc)
        except Exception:
            log.exception("claiming with a batch of outcomes failed")
        return None

    def _release_quietly(self, claim: Claim) -> None:
        """Hand a claim back; if that fails too, its lease brings the job back later."""
        try:
            self.release(claim.job.id, claim.key)
        except StoreError as exc:
            log.warning("job %s: handing its claim back failed: %s", claim.job.id, exc)

    def _side_thread(self) -> ThreadPoolExecutor:
        """The threads that claim while the calling thread stores finishes."""
        with self._side_lock:
            if self._side is None:
                self._side = ThreadPoolExecutor(SIDE_THREADS, "remotetask-pg-claim")
            return self._side

    def _finish_rows(self, cur: Cursor, finishes: Sequence[Finish]) -> list[bool]:
        """Each finish guarded by its own claim key; failed runs copied to their history.

        The batch travels as one JSON array of arrays: the statement's text is the same
        for every batch size (psycopg prepares it once, the server plans it once), and
        a batch of 64 costs half the CPU of ten typed arrays (0.43 against 0.90 ms,
        client and server together): ``json.dumps`` is quicker than psycopg's array
        adaptation, and ``jsonb`` is parsed once where ``json`` would be per field.
        """
        rows = [
            (
                f.job_id,
                f.key,
                f.outcome.status,
                f.outcome.result_json,
                f.outcome.error,
                f.outcome.traceback,
                f.outcome.next_call,
                f.ended,
                f.outcome.error_type,
                None if f.outcome.error is None else normalise(f.outcome.error),
            )
            for f in finishes
        ]
        cur.execute(FINISH_BATCH, (json.dumps(rows),))
        finished = {int(row[0]) for row in cur.fetchall()}
        return [f.job_id in finished for f in finishes]

    def _renew_rows(
        self, cur: Cursor, table: str, claims: Sequence[tuple[int, str]], lease_until: float
    ) -> set[str]:
        """One statement for the table's claims: a statement per claim held the renewed rows
        locked, and the finishes of those rows waited, for a round trip per claim (0.1 s
        for the 513 jobs a draining worker holds, every third of a lease)."""
        cur.execute(RENEW_BATCH.format(table=table), (json.dumps(claims), lease_until))
        renewed = {row[0] for row in cur.fetchall()}
        return {key for _id, key in claims if key not in renewed}

    # -- wake-ups -----------------------------------------------------------------------

    def _insert_rows(
        self, cur: Cursor, ref: ServiceRef, sid: int, jobs: Sequence[NewJob], now: float
    ) -> list[int]:
        """Every row in one statement, with the NOTIFY: one round trip in all.

        It runs without BEGIN/COMMIT (``single``). The rows travel as one JSON array
        (cheaper to encode than four typed arrays, as in ``_finish_rows``); the ids are
        drawn in its order (``ORDER BY n``), so sorted they are the rows' ids in order.
        """
        cur.execute(
            "WITH new AS (INSERT INTO jobs (service_id, task, input, status, schedule, created) "
            "SELECT ?, t.e->>0, t.e->>1, t.e->>2, t.e->>3, ? "
            "FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS t(e, n) "
            "ORDER BY t.n RETURNING id) "
            "SELECT new.id FROM new, (SELECT pg_notify(?, ?)) AS woken",
            (sid, now, json.dumps(jobs), CHANNEL, str(ref)),
        )
        return sorted(int(row[0]) for row in cur.fetchall())

    def _after_insert(self, cur: Cursor, ref: ServiceRef) -> None:
        """Tell idle workers at commit that the service has new jobs (inserts with keys)."""
        cur.execute("SELECT pg_notify(?, ?)", (CHANNEL, str(ref)))

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(service_ref)`` when jobs are inserted, from a listener thread."""
        if self._listener is None:
            self._listener = Listener(self.url, ignore=self._backends.__contains__)
            self._listener.start()
        self._listener.add(callback)

    # -- schema -----------------------------------------------------------------------

    def _table_names(self, cur: Cursor) -> set[str]:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {row[0] for row in cur.fetchall()}

    def _migration_lock(self, cur: Cursor) -> None:
        """Concurrent migrators queue here; the lock ends with the transaction."""
        cur.execute(
            "SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))", (MIGRATION_LOCK,)
        )


@contextmanager
def _store_errors(where: str) -> Iterator[None]:
    """Connection loss, timeouts and an unreachable server become StoreError (retry later)."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise StoreError(f"PostgreSQL {where}: {exc}".strip()) from exc


def _redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://?"
    host, port = info.get("host", "localhost"), info.get("port", 5432)
    return f"postgresql://{info.get('user', '')}@{host}:{port}/{info.get('dbname', '')}"
