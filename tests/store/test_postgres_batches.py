"""PostgreSQL's own: the finish batch (with the claim beside it) and the services guard."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest

from remotetask.jobs import COMPLETED, PROCESSING, QUEUED, Outcome
from remotetask.processing import COMMIT_BATCH
from remotetask.refs import ServiceRef
from remotetask.store import Finish, NewJob
from remotetask.store.postgres import CLAIM_BATCH, FINISH_BATCH, PostgresStore, to_pyformat

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


@pytest.mark.parametrize(
    "errcode", ["55P03", "P0001"], ids=["lock-timeout-a-store-error", "any-other-error"]
)
def test_a_failed_claim_beside_a_batch_is_told_apart_from_an_empty_queue(
    store: PostgresStore, postgres_url: str, errcode: str
) -> None:
    """The finishes stand and no job is claimed; the claims are None, not an empty list
    (which the processor once took for an empty queue, and claimed nothing more until
    woken). The claim is refused as a lock timeout would be (a StoreError), or with an
    error of another kind (which once went up from ``finish_many`` after its finishes had
    been committed, so that they were reported as not stored)."""
    ids = add_jobs(store, 3)
    (running,) = store.claim(REF, 2.0, 1, "w", 100.0)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse_claims() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" RAISE EXCEPTION USING ERRCODE = '{errcode}', MESSAGE = 'claims refused'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse_claims BEFORE UPDATE ON jobs FOR EACH ROW"
            " WHEN (NEW.status = 'processing' AND OLD.status <> 'processing')"
            " EXECUTE FUNCTION refuse_claims()"
        )
    done = Finish(running.job.id, running.key, Outcome(COMPLETED, result_json="1"), 3.0)
    stored, claims = store.finish_many([done], REF, 2, "w", 3.0, 100.0)
    assert (stored, claims) == ([True], None)
    assert statuses(store, ids) == [COMPLETED, QUEUED, QUEUED]


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


@pytest.mark.parametrize("analysed", [False, True], ids=["never-analysed", "analysed"])
@pytest.mark.parametrize("plan", ["force_generic_plan", "force_custom_plan"])
def test_claim_and_finish_batches_find_their_rows_by_key_whatever_the_statistics(
    store: PostgresStore, postgres_url: str, analysed: bool, plan: str
) -> None:
    """A batch reads only its own rows: a sequential scan of every job per batch (a hash
    join to the batch's rows, which a table of about ten thousand jobs made the planner
    pick) costs each batch time that grows with the table."""
    for _ in range(10):
        add_jobs(store, 1000)
    claims = store.claim(REF, 2.0, COMMIT_BATCH, "w", 100.0)
    rows = [[c.job.id, c.key, "completed", "1", None, None, None, 3.0, None, None] for c in claims]
    with psycopg.connect(postgres_url, cursor_factory=psycopg.ClientCursor) as conn:
        service = conn.execute(
            "SELECT id FROM services WHERE site = %s AND name = %s", (REF.site, REF.name)
        ).fetchone()
        assert service is not None
        claim_params = (service[0], 4.0, 4.0, COMMIT_BATCH, 4.0, 100.0, "w", REF.site, REF.name)
        if analysed:
            conn.execute("ANALYZE jobs")
        conn.execute(f"SET plan_cache_mode = {plan}")
        for name, statement, params in (
            ("claim", CLAIM_BATCH, claim_params),
            ("finish", FINISH_BATCH, (json.dumps(rows),)),
        ):
            plan_text = explain_prepared(conn, name, statement, params)
            assert "Seq Scan on jobs" not in plan_text, plan_text
            assert "jobs_pkey" in plan_text, plan_text
        conn.rollback()


def explain_prepared(
    conn: psycopg.Connection[Any], name: str, statement: str, params: Sequence[object]
) -> str:
    """The plan of ``statement`` run as our prepared statements run (EXPLAIN alone
    executes nothing)."""
    numbered = to_pyformat(statement)
    for n in range(1, len(params) + 1):
        numbered = numbered.replace("%s", f"${n}", 1)
    conn.execute(f"PREPARE {name} AS {numbered}")
    placeholders = ", ".join(["%s"] * len(params))
    plan = conn.execute(f"EXPLAIN EXECUTE {name} ({placeholders})", params).fetchall()
    return "\n".join(line[0] for line in plan)
