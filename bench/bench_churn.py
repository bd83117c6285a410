"""Job churn on PostgreSQL with retention on: does the table plateau, do claims stay fast?

    .venv/bin/python bench/bench_churn.py --url postgresql://postgres@127.0.0.1:5432/test \
        [--jobs 200000] [--rate 0] [--retention 10] [--prune-every 10] [--hold-snapshot]

Jobs are added in batches and each is claimed and finished on its own, as a
worker does, through the store verbs; finished jobs are pruned by the same
housekeeping the processing loop runs (``prune_finished``), with a short
retention so a plateau shows within minutes. Every ``--report-every`` seconds
it prints the claim latency p50/p99/max of that interval, the jobs table's dead
and live rows and its size with indexes, and the database health gauges.

The machine's shared server runs with ``autovacuum = off``; ``--private-cluster``
starts a server of its own with PostgreSQL's defaults (autovacuum on, fsync off)
from ``tests/faults/pgcluster.py`` and removes it afterwards.

``--hold-snapshot`` is battery row D3: a foreign session runs ``BEGIN; SELECT
txid_current();`` and stays idle in that transaction for the whole run, so
vacuum cannot remove any row deleted after it began. Run it on a database of
its own (``createdb churn``): the held transaction only holds back its database.
Runs in a fresh schema, dropped at the end; the figures go in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import psycopg

from bench_postgres import ROOT, fresh_schema
from remotetask import App, Settings
from remotetask.jobs import CANCELLED, COMPLETED, ERROR, Outcome
from remotetask.maintenance import prune_finished

SERVICE = "bench@Churn"
BATCH = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=0.0, help="jobs/s; 0 = as fast as it goes")
    parser.add_argument("--retention", type=float, default=10.0, help="seconds finished jobs stay")
    parser.add_argument("--prune-every", type=float, default=10.0)
    parser.add_argument("--report-every", type=float, default=30.0)
    parser.add_argument("--hold-snapshot", action="store_true")
    parser.add_argument(
        "--private-cluster",
        action="store_true",
        help="run on a new PostgreSQL server with default settings (autovacuum on); needs root",
    )
    args = parser.parse_args()
    if not args.private_cluster:
        run(args.url, args)
        return
    sys.path.insert(0, str(ROOT))
    from tests.faults.pgcluster import PrivateCluster

    cluster = PrivateCluster()
    try:
        run(cluster.url, args)
    finally:
        cluster.destroy()


def run(base_url: str, args: argparse.Namespace) -> None:
    with fresh_schema(base_url) as url:
        holder = psycopg.connect(url) if args.hold_snapshot else None
        if holder is not None:
            holder.execute("SELECT txid_current()")  # psycopg began a transaction; now idle
        try:
            churn(url, args)
        finally:
            if holder is not None:
                holder.close()


def churn(url: str, args: argparse.Namespace) -> None:
    keep = {COMPLETED: args.retention, CANCELLED: args.retention, ERROR: args.retention}
    app = App(url, settings=Settings(auto_migrate=True, retention=keep))
    app.register("noop", lambda _input: None)
    service = app.add_service(SERVICE)
    store, ref = app.store, service.ref
    print(
        f"{args.jobs} jobs, rate {args.rate or 'max'}/s, retention {args.retention:g} s, "
        f"pruned every {args.prune_every:g} s, foreign snapshot held: {args.hold_snapshot}"
    )
    print("  t s | done | jobs/s | claim p50 / p99 / max ms | dead | live | table+idx MB | held s")
    started = last_report = last_prune = time.monotonic()
    latencies: list[float] = []
    done = done_at_report = 0
    while done < args.jobs:
        service.add_many("noop", [None] * min(BATCH, args.jobs - done))
        for _ in range(min(BATCH, args.jobs - done)):
            now = time.time()
            t0 = time.perf_counter()
            (claim,) = store.claim(ref, now, 1, "churn", now + 30)
            latencies.append(time.perf_counter() - t0)
            store.finish(claim.job.id, claim.key, Outcome(COMPLETED, result_json="null"), now)
            done += 1
            if args.rate:
                time.sleep(max(0.0, started + done / args.rate - time.monotonic()))
        tick = time.monotonic()
        if tick - last_prune >= args.prune_every:
            prune_finished(app, ref, time.time())
            last_prune = tick
        if tick - last_report >= args.report_every or done >= args.jobs:
            report(
                app, tick - started, done, (done - done_at_report) / (tick - last_report), latencies
            )
            latencies, last_report, done_at_report = [], tick, done
    app.close()


def report(app: App, elapsed: float, done: int, rate: float, latencies: list[float]) -> None:
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    health: dict[str, Any] = app.database_health()
    print(
        f"{elapsed:6.0f} | {done:7d} | {rate:6.0f} | {statistics.median(ms):5.2f} / "
        f"{p99:6.2f} / {ms[-1]:6.1f} | {health['jobs_dead_tuples']:7.0f} | "
        f"{health['jobs_live_tuples']:6.0f} | {health['jobs_table_bytes'] / 2**20:6.1f} | "
        f"{health['oldest_transaction_seconds']:5.0f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
