"""SQLite benchmark: remotetask next to a raw SQLite loop with the same durability.

Run: .venv/bin/python bench/bench_sqlite.py [--jobs 10000] [--latency-samples 300]

Measures, in one run and on one file system:
- enqueue N no-op jobs one call at a time and in bulk, vs raw INSERTs;
- drain N jobs with one worker process (simple and multi processor) and with two
  (simple processor each), vs a raw claim/finish loop (two write transactions per
  job, as a worker needs);
- add-to-start latency on an idle service (p50/p99);
- the worker process's peak RSS.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import remotetask

HERE = Path(__file__).resolve().parent


def raw_connection(path: Path) -> sqlite3.Connection:
    """The smallest honest queue table: what any job needs kept, one index to find work."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS q (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "service INTEGER NOT NULL, task TEXT NOT NULL, input TEXT NOT NULL, "
        "status TEXT NOT NULL, result TEXT, attempts INTEGER NOT NULL DEFAULT 0, "
        "created REAL NOT NULL, started REAL, ended REAL)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS q_status ON q (service, status, id)")
    return conn


def raw_enqueue(path: Path, jobs: int, bulk: bool) -> float:
    conn = raw_connection(path)
    started = time.perf_counter()
    if bulk:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO q (service, task, input, status, created) "
            "VALUES (1, 'noop', ?, 'queued', ?)",
            ((json.dumps(n), time.time()) for n in range(jobs)),
        )
        conn.execute("COMMIT")
    else:
        for n in range(jobs):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO q (service, task, input, status, created) "
                "VALUES (1, 'noop', ?, 'queued', ?)",
                (json.dumps(n), time.time()),
            )
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def raw_drain(path: Path) -> float:
    conn = raw_connection(path)
    started = time.perf_counter()
    while True:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "UPDATE q SET status = 'processing', attempts = attempts + 1, started = ? "
            "WHERE id = (SELECT id FROM q WHERE service = 1 AND status = 'queued' "
            "ORDER BY id LIMIT 1) RETURNING id, input",
            (time.time(),),
        ).fetchone()
        conn.execute("COMMIT")
        if row is None:
            break
        result = json.dumps(json.loads(row[1]))
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE q SET status = 'completed', result = ?, ended = ? WHERE id = ?",
            (result, time.time(), row[0]),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def ours_enqueue(url: str, jobs: int, bulk: bool) -> float:
    app = remotetask.App(url)
    app.register("noop", lambda input: None)
    service = app.add_service("bench@Svc")
    started = time.perf_counter()
    if bulk:
        service.add_many("noop", range(jobs))
    else:
        for n in range(jobs):
            service.add("noop", n)
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed


def ours_drain(url: str, jobs: int, threads: int, processes: int = 1) -> tuple[float, int]:
    """Drain in separate worker processes started together; (seconds, peak RSS in KiB).

    The seconds are the slowest process's, each counted from its start of processing.
    """
    command = [sys.executable, str(HERE / "drain_once.py"), url, str(jobs), str(threads)]
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(processes)
    ]
    results = []
    for worker in workers:
        out, _ = worker.communicate()
        if worker.returncode != 0:
            raise RuntimeError(f"drain_once.py exited with {worker.returncode}")
        seconds, rss = out.split()
        results.append((float(seconds), int(rss)))
    return max(s for s, _ in results), max(r for _, r in results)


def latency(url: str, samples: int) -> tuple[list[float], list[float]]:
    """On an idle processing service: seconds add() took (it commits, so the job is
    durable when it returns), and seconds from add() returning to the task starting."""
    app = remotetask.App(url)
    started_at: list[float] = []
    ran = threading.Event()

    def mark(input: object) -> None:
        started_at.append(time.perf_counter())
        ran.set()

    app.register("mark", mark)
    service = app.add_service("bench@Latency")
    service.start_processing()
    adds, delays = [], []
    for _ in range(samples):
        time.sleep(0.01)  # let the service go idle
        ran.clear()
        before = time.perf_counter()
        service.add("mark")
        accepted = time.perf_counter()
        if not ran.wait(5):
            raise RuntimeError("job did not start within 5 s")
        adds.append(accepted - before)
        delays.append(started_at[-1] - accepted)
    app.close()
    return adds, delays


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--latency-samples", type=int, default=300)
    args = parser.parse_args()
    jobs = args.jobs
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)

        def fresh(name: str) -> tuple[Path, str]:
            path = folder / name
            return path, f"sqlite:///{path}"

        raw_single = raw_enqueue(fresh("raw1.db")[0], jobs, bulk=False)
        raw_bulk = raw_enqueue(fresh("raw2.db")[0], jobs, bulk=True)
        raw_path, _ = fresh("raw3.db")
        raw_enqueue(raw_path, jobs, bulk=True)
        raw_drain_s = raw_drain(raw_path)

        ours_single = ours_enqueue(fresh("ours1.db")[1], jobs, bulk=False)
        ours_bulk = ours_enqueue(fresh("ours2.db")[1], jobs, bulk=True)
        _, simple_url = fresh("ours3.db")
        ours_enqueue(simple_url, jobs, bulk=True)
        simple_s, simple_rss = ours_drain(simple_url, jobs, 1)
        _, multi_url = fresh("ours4.db")
        ours_enqueue(multi_url, jobs, bulk=True)
        multi_s, multi_rss = ours_drain(multi_url, jobs, 5)
        _, pair_url = fresh("ours5.db")
        ours_enqueue(pair_url, jobs, bulk=True)
        pair_s, _ = ours_drain(pair_url, jobs, 1, processes=2)
        adds, delays = latency(fresh("latency.db")[1], args.latency_samples)

    def rate(seconds: float) -> float:
        return jobs / seconds

    rows = [
        ("enqueue, one call per job", rate(ours_single), rate(raw_single)),
        ("enqueue, bulk (one transaction)", rate(ours_bulk), rate(raw_bulk)),
        ("drain, 1 process, simple processor", rate(simple_s), rate(raw_drain_s)),
        ("drain, 1 process, multi processor (5 threads)", rate(multi_s), rate(raw_drain_s)),
        ("drain, 2 processes, simple processor each", rate(pair_s), rate(raw_drain_s)),
    ]
    print(f"SQLite {sqlite3.sqlite_version}, WAL, synchronous=FULL, {jobs} no-op jobs\n")
    print("| measurement | remotetask jobs/s | raw SQLite jobs/s | ratio |")
    print("|---|---:|---:|---:|")
    for name, ours, raw in rows:
        print(f"| {name} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.0%} |")
    print()
    totals = [a + d for a, d in zip(adds, delays, strict=True)]
    print(f"idle service, {len(delays)} samples (p50 / p99 / mean):")
    for name, values in (
        ("add() call, committed and durable on return", adds),
        ("add() returned -> task started", delays),
        ("add() called -> task started", totals),
    ):
        print(
            f"- {name}: {percentile(values, 0.5) * 1000:.2f} ms / "
            f"{percentile(values, 0.99) * 1000:.2f} ms / "
            f"{statistics.fmean(values) * 1000:.2f} ms"
        )
    print(f"worker peak RSS: simple {simple_rss / 1024:.1f} MiB, multi {multi_rss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
