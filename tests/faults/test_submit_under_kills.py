"""On PostgreSQL a 503 on submit means "nothing stored" (issue 10, item 7).

The server's database connections are killed (``pg_terminate_backend``) every
few milliseconds while clients submit. A request without an Idempotency-Key
that answered 503 must have stored nothing (the answer comes from the
committed row, not from a second read), and ``Client.add``, which sends a key
by itself and retries, stores each job exactly once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import remotetask
from remotetask.store import open_store
from remotetask.web import WebSettings
from tests.faults.harness import query
from tests.web.conftest import SITE1, make_app
from tests.web.live import LiveServer

pytestmark = pytest.mark.postgres
SUBMITS = 800


@pytest.fixture
def killed(postgres_url: str) -> Iterator[tuple[LiveServer, str]]:
    """A server whose connections (and only its) are killed every 0.5-1 s."""
    name = f"rt_kill_{uuid.uuid4().hex[:8]}"
    open_store(postgres_url, auto_migrate=True).close()
    app = make_app(f"{postgres_url}&application_name={name}")
    secret = app.tokens.issue("t", "admin", ["*"])[1]
    stop = threading.Event()

    def kill() -> None:
        while not stop.wait(0.5 + 0.5 * (time.monotonic() % 1)):
            query(
                postgres_url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            )

    with LiveServer(app, WebSettings(autostart=("none@x",), rate_limit=0)) as server:
        killer = threading.Thread(target=kill, daemon=True)
        killer.start()
        yield server, secret
        stop.set()
        killer.join()
    app.close()


@pytest.mark.timeout(300)
def test_a_503_never_means_stored_and_client_retries_store_once(
    killed: tuple[LiveServer, str], postgres_url: str
) -> None:
    server, secret = killed
    run = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Bearer {secret}"}

    def raw(n: int) -> int:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            body = {"task": "echo", "input": {"run": run, "n": n}}
            return http.post(f"/api/v1/services/{SITE1}/jobs", json=body).status_code

    def keyed(n: int) -> str:
        with remotetask.Client(server.url, secret) as client:
            try:
                client.service(SITE1).add("echo", {"run": run, "k": n})
            except (remotetask.ServerUnavailableError, remotetask.StoreError):
                return "unavailable"
            return "stored"

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(raw, range(SUBMITS)))
        outcomes = list(pool.map(keyed, range(SUBMITS // 2)))
    stored = Counter(
        int(n)
        for (n,) in query(
            postgres_url,
            "SELECT input::json->>'n' FROM jobs WHERE input::json->>'run' = %s "
            "AND input::json->>'n' IS NOT NULL",
            (run,),
        )
    )
    codes = Counter(answers)
    print(f"\nraw submits under connection kills: {dict(codes)}")
    stored_but_refused = [n for n, code in enumerate(answers) if code != 201 and stored[n]]
    assert stored_but_refused == []
    assert all(stored[n] == 1 for n, code in enumerate(answers) if code == 201)
    assert codes[503] > 0  # the kills did hit submits
    assert set(codes) <= {201, 503}
    keyed_rows = Counter(
        int(k)
        for (k,) in query(
            postgres_url,
            "SELECT input::json->>'k' FROM jobs WHERE input::json->>'run' = %s "
            "AND input::json->>'k' IS NOT NULL",
            (run,),
        )
    )
    print(f"Client.add under connection kills: {dict(Counter(outcomes))}")
    assert max(keyed_rows.values()) == 1  # retried, never twice
    assert all(keyed_rows[k] == 1 for k, o in enumerate(outcomes) if o == "stored")
