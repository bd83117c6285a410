"""Every stored job can be read back by every transport, and lists stay bounded.

Issue 10, items 2 and 8: one job with an awkward value must never make reads
answer 500 for everyone (the JSON API's job and list routes, XML-RPC, the UI,
the CLI), and a page of large jobs is a bounded summary.
"""

from __future__ import annotations

import subprocess
import sys
import xmlrpc.client
from typing import Any

import pytest

import remotetask
from remotetask import jsonvalue
from remotetask.store import NewJob
from tests.web.conftest import SITE1, Served
from tests.web.test_limits import nested
from tests.web.test_xmlrpc import proxy

JOBS = f"/api/v1/services/{SITE1}/jobs"

VALUES: list[Any] = [
    nested(jsonvalue.MAX_DEPTH),
    {"ctrl": "bell\x07 nul\x00 esc\x1b", "cr": "a\r\nb"},
    {"big": 2**70, "neg": -(2**40), "float": 1e308, "tiny": 5e-324},
    {"unicode": "😀 ﬀ \u2028 \ufeff", "empty": [{}, [], ""]},
    "x" * (64 * 1024),
    [list(range(50))] * 50,
]


def read_everywhere(served: Served, job_id: int, value: Any) -> None:
    """Read the job through each transport; each answers, none with a server error."""
    with served.http() as http:
        whole = http.get(f"{JOBS}/{job_id}")
        assert whole.status_code == 200, whole.text
        assert whole.json()["result"] == value
        listed = http.get(JOBS, params={"limit": 500})
        assert listed.status_code == 200, listed.text
        assert job_id in [item["id"] for item in listed.json()["items"]]
        assert http.get(f"/ui/services/{SITE1}/jobs/{job_id}").status_code < 500
    with proxy(served) as service:
        try:
            result = service.getResult(job_id)
        except xmlrpc.client.Fault as fault:  # what XML-RPC cannot carry is said so
            result = fault.faultCode
        assert result in (value, 422)
        assert service.getStatus(job_id) == "completed"
    with served.client() as client:
        assert client.service(SITE1).job(job_id).result == value
    cli = subprocess.run(
        [sys.executable, "-m", "remotetask", "status", "--url", served.url,
         "--service", SITE1, str(job_id), "--json"],
        env={"REMOTETASK_TOKEN": served.tokens["admin"], "PATH": ""},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_any_value_within_the_limits_reads_back_everywhere(served: Served, value: Any) -> None:
    service = served.app.service(SITE1)
    job_id = service.add("echo", value)
    service.process()
    read_everywhere(served, job_id, value)


def test_a_job_stored_before_the_limits_still_reads(served: Served) -> None:
    """A row written by an older version, 600 levels deep, breaks no read."""
    deep = jsonvalue._ENCODER.encode(nested(600))
    service = served.app.service(SITE1)
    [job_id] = service.store.insert_jobs(
        service.ref, [NewJob("echo", deep, remotetask.QUEUED)], 0.0
    ).ids
    with served.http() as http:
        assert http.get(f"{JOBS}/{job_id}").status_code == 200
        assert http.get(JOBS).status_code == 200
        assert http.get(f"/ui/services/{SITE1}/jobs/{job_id}").status_code < 500
    with proxy(served) as xml:
        assert xml.getStatus(job_id) == "queued"


def test_lists_summarise_large_values_and_keep_to_a_byte_budget(served: Served) -> None:
    service = served.app.service(SITE1)
    big = service.add_many("echo", ["y" * 200_000] * 30)  # 6 MB of inputs
    small = service.add_many("echo", [{"n": n, "pad": "z" * 3000} for n in range(500)])
    with served.http() as http:
        page = http.get(JOBS, params={"limit": 500, "sort": "oldest"})
        assert page.status_code == 200
        assert len(page.content) <= 1024 * 1024 + 4096
        items = page.json()["items"]
        assert [item["id"] for item in items[:30]] == big
        assert all(item["input"] is None and item["truncated"] == ["input"] for item in items[:30])
        assert items[30]["input"] == {"n": 0, "pad": "z" * 3000}
        seen = [item["id"] for item in items]
        cursor = page.json()["next_cursor"]
        assert cursor is not None  # the budget ended the page before 500 items
        while cursor is not None:
            more = http.get(JOBS, params={"limit": 500, "sort": "oldest", "cursor": cursor})
            seen += [item["id"] for item in more.json()["items"]]
            cursor = more.json()["next_cursor"]
        assert seen == big + small  # no gap, no repeat
        whole = http.get(f"{JOBS}/{big[0]}").json()
        assert whole["input"] == "y" * 200_000
    with served.client() as client:  # the client fetches what the list left out
        jobs = client.service(SITE1).page(limit=40, oldest_first=True)[0]
        assert jobs[0].input == "y" * 200_000
