"""D2: PostgreSQL stopped for a minute while clients submit (issue 10, the battery).

A private PostgreSQL server (so the shared one stays up for everyone else)
is stopped for ``OUTAGE`` seconds while a client submits 20 jobs a second
and a probe reads ``/readyz`` twice a second. Submits must fail fast with 503
and Retry-After (never 500, never a hang past the pool's timeout),
readiness must say so, and once the server is back everything recovers
without a restart, with no acknowledged job lost.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from remotetask.store import open_store
from remotetask.web import WebSettings
from tests.faults.harness import query
from tests.faults.pgcluster import PrivateCluster, available
from tests.web.conftest import SITE1, make_app
from tests.web.live import LiveServer

OUTAGE = float(os.environ.get("REMOTETASK_D2_OUTAGE", "60"))
POOL_TIMEOUT = 10.0


@dataclass
class Sample:
    at: float
    status: int
    seconds: float
    retry_after: str | None
    key: str


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    if not available():
        pytest.skip("a private PostgreSQL server needs its binaries, root and a postgres user")
    made = PrivateCluster()
    yield made
    made.destroy()


def sample(http: httpx.Client, method: str, path: str, **kwargs: object) -> Sample:
    key = uuid.uuid4().hex
    started = time.monotonic()
    try:
        answer = http.request(method, path, headers={"Idempotency-Key": key}, **kwargs)  # type: ignore[arg-type]
        status, retry = answer.status_code, answer.headers.get("retry-after")
    except httpx.TransportError:
        status, retry = 0, None
    return Sample(started, status, time.monotonic() - started, retry, key)


@pytest.mark.timeout(OUTAGE + 180)
def test_postgres_stopped_while_clients_submit(cluster: PrivateCluster) -> None:
    open_store(cluster.url, auto_migrate=True).close()
    app = make_app(cluster.url)
    secret = app.tokens.issue("d2", "admin", ["*"])[1]
    submits: list[Sample] = []
    probes: list[Sample] = []
    stop = threading.Event()

    def every(period: float, out: list[Sample], method: str, path: str, **kw: object) -> None:
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            while not stop.is_set():
                began = time.monotonic()
                out.append(sample(http, method, path, **kw))
                stop.wait(max(0.0, period - (time.monotonic() - began)))

    settings = WebSettings(autostart=(SITE1,), rate_limit=0)
    with LiveServer(app, settings) as server:
        body = {"task": "echo", "input": "d2"}
        jobs = f"/api/v1/services/{SITE1}/jobs"
        clients = [
            threading.Thread(
                target=every, args=(0.05, submits, "POST", jobs), kwargs={"json": body}
            ),
            threading.Thread(target=every, args=(0.5, probes, "GET", "/readyz")),
        ]
        for thread in clients:
            thread.start()
        time.sleep(5)
        down = time.monotonic()
        cluster.stop()
        time.sleep(OUTAGE)
        up = time.monotonic()
        cluster.start()
        time.sleep(25)
        stop.set()
        for thread in clients:
            thread.join()
        accepted = [s.key for s in submits if s.status == 201]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the processing thread recovered too
            rows = dict(query(cluster.url, "SELECT status, count(*) FROM jobs GROUP BY status"))
            if set(rows) == {"completed"}:
                break
            time.sleep(0.5)
    app.close()

    stored = {k for (k,) in query(cluster.url, "SELECT idempotency_key FROM jobs")}
    during = [s for s in submits if down + POOL_TIMEOUT + 2 < s.at < up]
    after = [s for s in submits if s.at > up]
    recovered = min((s.at for s in after if s.status == 201), default=float("inf")) - up
    ready_again = (
        min((p.at for p in probes if p.at > up and p.status == 200), default=float("inf")) - up
    )
    seconds = sorted(s.seconds for s in during)
    print(
        f"\nD2, {OUTAGE:.0f} s outage: submits {dict(Counter(s.status for s in submits))}; "
        f"during the outage {len(during)} submits, p50 {1000 * statistics.median(seconds):.1f} ms, "
        f"p99 {1000 * seconds[int(0.99 * (len(seconds) - 1))]:.0f} ms, "
        f"max {1000 * max(s.seconds for s in submits if down < s.at < up):.0f} ms; "
        f"/readyz during: {dict(Counter(p.status for p in probes if down < p.at < up))}; "
        f"first 201 {recovered:.1f} s and ready {ready_again:.1f} s after the restart; "
        f"{len(accepted)} accepted, {len(set(accepted) - stored)} of them lost"
    )
    assert {s.status for s in submits} <= {201, 503}
    assert all(s.retry_after for s in submits if s.status == 503)
    assert during
    assert all(s.status == 503 for s in during)
    assert statistics.median(seconds) < 0.5  # fast, not held for the pool's timeout
    assert max(s.seconds for s in submits) < POOL_TIMEOUT + 5  # never a hang
    assert {p.status for p in probes if down + POOL_TIMEOUT + 2 < p.at < up} == {503}
    assert recovered < 20
    assert ready_again < 20
    assert set(accepted) <= stored  # nothing acknowledged was lost
    assert set(rows) == {"completed"}
