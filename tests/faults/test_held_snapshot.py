"""D3: a foreign session holds a transaction open (``BEGIN; SELECT txid_current();``) during churn.

Vacuum cannot remove the rows deleted or updated after it began, so the jobs
table bloats; the service must stay up, and the metrics endpoint must show the
cause (``remotetask_db_oldest_transaction_*``). The minutes-long measured run
is ``bench/bench_churn.py --hold-snapshot`` (figures in docs/reliability.md).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import psycopg
import pytest

from remotetask import App, Settings
from remotetask.web.metrics import Metrics
from tests.faults.harness import spawn, status_counts, stop, unfinished, wait_for, worker_command
from tests.faults.worker_tasks import register

pytestmark = pytest.mark.postgres
BATCHES = 40


def gauge(text: str, name: str) -> float:
    found = re.search(rf"^remotetask_db_{name} (\S+)$", text, re.M)
    assert found is not None, f"no gauge {name}"
    return float(found.group(1))


def test_a_transaction_held_open_during_churn_shows_in_the_metrics(
    postgres_url: str, tmp_path: Path
) -> None:
    app = App(postgres_url, settings=Settings(auto_migrate=True))
    register(app)
    service = app.add_service("site1@S")
    worker = spawn(worker_command(postgres_url, "--threads", "4"), tmp_path / "worker.log")
    try:
        with psycopg.connect(postgres_url) as foreign:
            foreign.execute("SELECT txid_current()")  # BEGIN (psycopg), then idle in it
            for _ in range(BATCHES):
                service.add_many("nap", [1] * 20)
                time.sleep(0.1)
            counts = wait_for(
                lambda: status_counts(postgres_url),
                lambda c: unfinished(c) == 0,
                60,
                "the churn drained while the transaction is held",
            )
            text = Metrics().render(app, lambda _site: True)
        alive = worker.poll() is None
    finally:
        stop(worker)
        app.close()
    seconds = gauge(text, "oldest_transaction_seconds")
    xid_age = gauge(text, "oldest_transaction_xid_age")
    print(
        f"\nD3 (short): {BATCHES * 20} jobs in {BATCHES} batches while a foreign session "
        f"holds a transaction: statuses {counts}; worker alive {alive}; metrics show the "
        f"oldest transaction {seconds:.1f} s old, {xid_age:.0f} transaction ids behind"
    )
    assert alive
    assert counts == {"completed": BATCHES * 20}
    assert seconds > 0
    assert xid_age >= BATCHES, "every batch took a transaction id after the held one"
