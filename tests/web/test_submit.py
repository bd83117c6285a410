"""Submitting over HTTP: group commit, the bulk route, and the client's safe retries (issue 9)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import remotetask
from remotetask.jobs import Outcome
from remotetask.service import TaskService
from remotetask.web.groupcommit import GroupCommit
from remotetask.web.waiters import Waiters
from tests.web.conftest import SITE1, SITE2, Served, make_app

JOBS = f"/api/v1/services/{SITE1}/jobs"


def database(served: Served) -> Path:
    return Path(served.app.database.removeprefix("sqlite:///"))


def test_concurrent_submits_are_each_answered_with_their_own_committed_job(
    served: Served,
) -> None:
    def submit(worker: int) -> list[tuple[int, dict[str, int]]]:
        made = []
        with served.http() as http:
            for n in range(25):
                body = {"task": "echo", "input": {"worker": worker, "n": n}}
                ref = SITE1 if worker % 2 else SITE2
                answer = http.post(f"/api/v1/services/{ref}/jobs", json=body)
                assert answer.status_code == 201, answer.text
                made.append((answer.json()["id"], answer.json()["input"]))
        return made

    with ThreadPoolExecutor(16) as pool:
        answered = [job for made in pool.map(submit, range(16)) for job in made]
    assert len({job_id for job_id, _ in answered}) == 400
    for job_id, value in answered:
        ref = SITE1 if value["worker"] % 2 else SITE2
        assert served.app.service(ref).job(job_id).input == value


def test_a_group_keeps_one_job_per_idempotency_key(served: Served) -> None:
    barrier = threading.Barrier(12)

    def submit(_: int) -> int:
        with served.http() as http:
            barrier.wait()
            answer = http.post(
                JOBS, json={"task": "echo", "input": 1}, headers={"Idempotency-Key": "same"}
            )
            assert answer.status_code == 201
            return int(answer.json()["id"])

    with ThreadPoolExecutor(12) as pool:
        ids = set(pool.map(submit, range(12)))
    assert len(ids) == 1
    assert len(served.app.service(SITE1).jobs) == 1


def test_one_bad_submission_does_not_fail_the_others_of_its_group(served: Served) -> None:
    service = served.app.service(SITE1)
    group = GroupCommit()
    ok = service.submission("echo", "fine")
    clash = service.submission("echo", "fine", idempotency_key="k")
    service.add("echo", "fine", idempotency_key="k")

    async def both() -> list[object]:
        waiting = [group.submit(service, ok), group.submit(service, clash)]
        return await asyncio.gather(*waiting, return_exceptions=True)

    with ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever runs in this thread
        first, second = pool.submit(asyncio.run, both()).result()
    group.close()
    assert isinstance(first, remotetask.Job)
    assert first.status == "queued"
    assert isinstance(second, remotetask.Job)  # the key's first job, not an error
    assert len(service.jobs) == 2


def test_bulk_submits_many_jobs_in_one_request_and_once_per_key(served: Served) -> None:
    with served.client() as client:
        service = client.service(SITE1)
        ids = service.add_many("echo", [{"n": n} for n in range(2500)], idempotency_key="b1")
        assert len(ids) == 2500 == len(set(ids))
        again = service.add_many("echo", [{"n": n} for n in range(2500)], idempotency_key="b1")
        assert again == ids
        assert service.job(ids[1234]).input == {"n": 1234}
    assert len(served.app.service(SITE1).jobs) == 2500
    with served.http("read") as http:
        assert http.post(f"{JOBS}/bulk", json={"task": "echo", "inputs": [1]}).status_code == 403
    with served.http() as http:
        assert http.post(f"{JOBS}/bulk", json={"task": "echo", "inputs": []}).status_code == 422
        unknown = http.post(f"{JOBS}/bulk", json={"task": "nope", "inputs": [1]})
        assert unknown.status_code == 422


def test_the_local_add_many_takes_a_key_too(served: Served) -> None:
    service: TaskService = served.app.service(SITE1)
    ids = service.add_many("echo", [1, 2, 3], idempotency_key="local")
    assert service.add_many("echo", [1, 2, 3], idempotency_key="local") == ids


def test_the_client_sends_an_idempotency_key_by_itself(served: Served) -> None:
    with served.client() as client:
        job_id = client.service(SITE1).add("echo", "keyed")
    with sqlite3.connect(database(served)) as conn:
        (key,) = conn.execute("SELECT idempotency_key FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert key is not None
    assert len(key) == 32


@pytest.mark.parametrize("path", ["/jobs", "/jobs/bulk"])
def test_a_201_is_the_committed_job(served: Served, path: str) -> None:
    body = {"task": "echo", "input": {"a": 1}} if path == "/jobs" else {
        "task": "echo", "inputs": [{"a": 1}]
    }  # fmt: skip
    with served.http() as http:
        answer = http.post(f"/api/v1/services/{SITE1}{path}", json=body)
    assert answer.status_code == 201
    job_id = answer.json()["id"] if path == "/jobs" else answer.json()["ids"][0]
    assert served.app.service(SITE1).job(job_id).input == {"a": 1}


@pytest.mark.parametrize("where", ["file", "memory"])
def test_an_ended_job_wakes_its_waiters_with_the_stored_job(where: str, tmp_path: Path) -> None:
    """The end of a run wakes every request waiting for it (a retry does not). In memory,
    where reads may wait, they get the stored job, read once for them all by a reader
    thread; on a file, where reads never wait, each reads it on its loop."""
    app = make_app(f"sqlite:///{tmp_path / 'wait.db'}" if where == "file" else "sqlite://")
    service = app.service(SITE1)
    job_id = service.add("echo", "x")
    service.process()
    waiters = Waiters(app)

    async def wait(outcome: Outcome) -> tuple[list[bool], list[remotetask.Job | None]]:
        async with (
            waiters.waiting("one", service.ref, job_id) as first,
            waiters.waiting("two", service.ref, job_id) as second,
        ):
            waiters.job_finished(service.ref, service.job(job_id), outcome, 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first.ended.wait(), 1 if outcome.status == "queued" else 30)
                await asyncio.wait_for(second.ended.wait(), 30)
            return [first.ended.is_set(), second.ended.is_set()], [first.job, second.job]

    with ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever runs in this thread
        woken, ended = pool.submit(asyncio.run, wait(Outcome(remotetask.COMPLETED, '"x"'))).result()
        retried = pool.submit(asyncio.run, wait(Outcome(remotetask.QUEUED, next_call=1.0))).result()
    waiters.close()
    app.close()
    assert woken == [True, True]
    if where == "file":
        assert ended == [None, None]
    else:
        assert ended[0] is ended[1]
        assert ended[0] is not None
        assert (ended[0].status, ended[0].result) == ("completed", "x")
    assert retried == ([False, False], [None, None])
