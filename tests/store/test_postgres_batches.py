"""PostgreSQL's own: the finish batch (with the claim beside it) and the services guard."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from remotetask.jobs import COMPLETED, PROCESSING, QUEUED, Outcome
from remotetask.refs import ServiceRef
from remotetask.store import Finish, NewJob
from remotetask.store.postgres import FINISH_BATCH, PostgresStore, to_pyformat

REF = ServiceRef("", "Batches")


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    """A store with the service REF and no jobs yet."""
    opened = PostgresStore(postgres_url, auto_migrate=True)
    opened.ensure_service(REF)
    yield opened
    opened.close()


def add_jobs(store: PostgresStore, count: int) -> list[int]:
    return store.insert_jobs(REF, [NewJob("echo", "1", QUEUED) for _ in range(count)], 1.0).ids


def statuses(store: PostgresStore, ids: list[int]) -> list[str]:
    jobs = [store.get_job(REF, job_id) for job_id in ids]
    return [str(job.status) if job is not None else "missing" for job in jobs]


def test_a_refused_finish_batch_hands_back_the_jobs_claimed_beside_it(
    store: PostgresStore,
) -> None:
    ids = add_jobs(store, 4)
    (running,) = store.claim(REF, 2.0, 1, "w", 100.0)
    refused = Finish(running.job.id, running.key, Outcome(COMPLETED, result_json='"\x00"'), 3.0)
    with pytest.raises(psycopg.DataError):
        store.finish_many([refused], REF, 3, "w", 3.0, 100.0)
    assert statuses(store, ids) == [PROCESSING, QUEUED, QUEUED, QUEUED]
    assert [c.job.attempts for c in store.claim(REF, 4.0, 3, "w", 100.0)] == [1, 1, 1]


def test_a_batch_stores_its_finishes_and_claims_the_next_jobs(store: PostgresStore) -> None:
    ids = add_jobs(store, 5)
    running = store.claim(REF, 2.0, 2, "w", 100.0)
    finishes = [Finish(c.job.id, c.key, Outcome(COMPLETED, result_json="1"), 3.0) for c in running]
    finishes.append(Finish(ids[4], "not its claim", Outcome(COMPLETED), 3.0))
    stored, claims = store.finish_many(finishes, REF, 2, "w", 3.0, 100.0)
    assert stored == [True, True, False]
    assert [c.job.id for c in claims] == ids[2:4]
    assert all(c.job.service == str(REF) for c in claims)
    assert statuses(store, ids) == [COMPLETED, COMPLETED, PROCESSING, PROCESSING, QUEUED]


def test_services_cannot_be_deleted_truncated_or_renumbered(
    store: PostgresStore, postgres_url: str
) -> None:
    """Jobs carry no foreign key to their service (see migration 0004): this keeps them whole."""
    add_jobs(store, 1)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for statement in (
            "DELETE FROM services",
            "TRUNCATE services CASCADE",
            "UPDATE services SET id = id + 100",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="never deleted"):
                conn.execute(statement)
        row = conn.execute(
            "SELECT count(*) FROM services JOIN jobs ON jobs.service_id = services.id"
        ).fetchone()
        assert row == (1,)


def test_claim_keys_have_no_index_of_their_own(store: PostgresStore, postgres_url: str) -> None:
    """Every write guarded by a claim key finds its job by id (migration 0005): an index
    on the keys would only cost every claim an insert."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'jobs' "
            "AND schemaname = current_schema()"
        ).fetchall()
    assert rows  # the jobs table's indexes were found
    assert not [d for (d,) in rows if "(claim)" in d]


def test_a_finish_batch_finds_its_rows_by_key_on_a_table_never_analysed(
    store: PostgresStore, postgres_url: str
) -> None:
    """Its plan must not depend on statistics: a seq scan per batch grows with the table."""
    for _ in range(5):
        add_jobs(store, 1000)
    claims = store.claim(REF, 2.0, 64, "w", 100.0)
    rows = [[c.job.id, c.key, "completed", "1", None, None, None, 3.0, None, None] for c in claims]
    statement = to_pyformat(FINISH_BATCH).replace("%s", "$1", 1).replace("%s", "$2", 1)
    with psycopg.connect(postgres_url, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute(f"PREPARE finish_batch (jsonb, bigint[]) AS {statement}")
        plan = conn.execute(
            "EXPLAIN EXECUTE finish_batch (%s::jsonb, %s::bigint[])",
            (json.dumps(rows), [c.job.id for c in claims]),
        ).fetchall()
        conn.rollback()
    text = "\n".join(line[0] for line in plan)
    assert "Seq Scan on jobs" not in text, text
    assert "jobs_pkey" in text, text
