"""UI benchmark: every page of the management UI on a database of 1,000,000 jobs.

Fills a SQLite file (five services of 200,000 jobs each: completed, errored with a
few kinds of exceptions, cancelled, queued, start later, 200 cron and delayed jobs
with run histories, ends spread over the last 14 hours), serves the UI with
uvicorn on 127.0.0.1, logs in, and times each page: the median of 5 loads after a
warm-up (time to the last byte over loopback, i.e. server time) and its HTML size.

    .venv/bin/python bench/bench_ui.py [--jobs 1000000] [--keep bench-ui.db]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

import remotetask
from remotetask.auth import Principal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ui.server import serve  # noqa: E402

SERVICES = ["site1@Converter", "site1@Mailer", "site2@Reports", "site2@Billing", "@Maintenance"]
TASKS = ["transcode", "send_mail", "render_report", "charge_card", "sync_inventory"]
ERRORS = [
    ("ValueError", "cannot decode frame {n} of '/media/clip-{n}.mov'"),
    ("TimeoutError", "SMTP server did not answer within 30 s"),
    ("billing.Declined", "card ending {n} was declined (code 51)"),
]


def fill(path: Path, jobs: int, now: float) -> remotetask.App:
    app = remotetask.App(f"sqlite:///{path}")
    for task in TASKS:
        app.register(task, lambda input: input)
    for ref in SERVICES:
        app.add_service(ref)
    app.close()
    rnd = random.Random(7)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    batch: list[tuple[object, ...]] = []
    span = 14 * 3600.0
    for i in range(jobs):
        sid = 1 + i % len(SERVICES)
        task = TASKS[rnd.randrange(len(TASKS))]
        created = now - span + span * i / jobs
        roll = rnd.random()
        started = ended = error = kind = group = result = None
        attempts = 0
        if roll < 0.85:
            status, started, ended, result, attempts = (
                "completed",
                created + 1,
                created + 2,
                '"ok"',
                1,
            )
        elif roll < 0.92:
            kind, text = ERRORS[i % len(ERRORS)]
            error = text.format(n=i)
            group = remotetask.failures.normalise(error)
            status, started, ended, attempts = "error", created + 1, created + 3, 4
        elif roll < 0.97:
            status, ended = "cancelled", created + 5
        elif roll < 0.99:
            status = "queued"
        else:
            status = "start later"
        batch.append(
            (sid, task, json.dumps({"file": f"clip-{i}.mov", "n": i}), status, result, error,
             kind, group, attempts, created, started, ended)
        )  # fmt: skip
        if len(batch) == 50_000:
            _insert(con, batch)
            batch = []
    _insert(con, batch)
    for n in range(200):
        schedule = {"minute": [n % 60], "hour": [], "day_of_month": [], "month": [],
                    "day_of_week": [], "delay": None, "cron": None, "timezone": "UTC"}  # fmt: skip
        cursor = con.execute(
            "INSERT INTO jobs (service_id, task, input, status, schedule, created, next_call) "
            "VALUES (?, ?, ?, 'cronjob', ?, ?, ?) RETURNING id",
            (1 + n % len(SERVICES), TASKS[n % 5], json.dumps({"n": n}), json.dumps(schedule),
             now - 86400, now + 60 * (n % 60)),
        )  # fmt: skip
        job_id = cursor.fetchone()[0]
        con.executemany(
            "INSERT INTO cron_runs (job_id, scheduled_for, started, ended, error) "
            "VALUES (?, ?, ?, ?, ?)",
            [(job_id, now - 3600 * k, now - 3600 * k, now - 3600 * k + 2,
              "boom" if k % 7 == 0 else None) for k in range(1, 51)],
        )  # fmt: skip
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()
    app = remotetask.App(f"sqlite:///{path}", clock=remotetask.FrozenClock(now))
    for task in TASKS:
        app.register(task, lambda input: input)
    return app


def _insert(con: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    con.executemany(
        "INSERT INTO jobs (service_id, task, input, status, result, error, error_type, "
        "error_group, attempts, created, started, ended) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )


def pages(app: remotetask.App) -> dict[str, str]:
    svc = app.service(SERVICES[0])
    (error,) = svc.list_jobs(remotetask.JobQuery(frozenset({remotetask.ERROR}), limit=1))
    cron = app.schedule_board([svc.ref], limit=1)[0]
    base = f"/services/{svc.ref}"
    deep = svc.list_jobs(remotetask.JobQuery(limit=1, after_id=error.id - 50_000))[0].id
    return {
        "overview (5 services, 5 charts)": "/",
        "jobs, default 20": f"{base}/jobs",
        "jobs, size=100": f"{base}/jobs?size=100",
        "jobs, size=500": f"{base}/jobs?size=500",
        "jobs, status=error": f"{base}/jobs?status=error",
        "jobs, task=charge_card": f"{base}/jobs?task=charge_card",
        "jobs, sort by task": f"{base}/jobs?sort=task",
        "jobs, sort by started, oldest first": f"{base}/jobs?sort=started&order=asc",
        "jobs, sort by ended": f"{base}/jobs?sort=ended",
        "jobs, deep page (after=)": f"{base}/jobs?after={deep}",
        "jobs, search a rare input": f"{base}/jobs?q=clip-123456.mov",
        "jobs, live refresh (partial)": f"{base}/jobs#hx",
        "a job with its attempts": f"{base}/jobs/{error.id}",
        "a cron job with 50 runs": f"{base}/jobs/{cron.id}",
        "errors (triage)": f"{base}/errors",
        "schedules (200 cron jobs, 5 services)": "/schedules",
        "cron tab of a service": f"{base}/cron",
        "add a job": f"{base}/add?task=transcode",
        "bulk confirm, remove finished": f"{base}/bulk?action=remove-finished",
        "bulk confirm, retry errored": f"{base}/bulk?action=retry",
    }


def measure(http: httpx.Client, path: str, rounds: int) -> tuple[float, int]:
    partial = path.endswith("#hx")
    headers = {"HX-Request": "true"} if partial else {}
    path = path.removesuffix("#hx")
    http.get(path, headers=headers)
    times = []
    size = 0
    for _ in range(rounds):
        start = time.perf_counter()
        response = http.get(path, headers=headers)
        size = len(response.content)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", help="keep (and reuse) the database at this path")
    args = parser.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.keep) if args.keep else Path(folder) / "ui.db"
        started = time.perf_counter()
        if path.exists():
            app = remotetask.App(f"sqlite:///{path}")
            for task in TASKS:
                app.register(task, lambda input: input)
        else:
            app = fill(path, args.jobs, now)
        print(f"database ready in {time.perf_counter() - started:.0f} s: {path}")

        def verify(token: str) -> Principal | None:
            return Principal("bench", "admin", ("*",)) if token == "bench" else None

        with (
            serve(app, verify_token=verify) as url,
            httpx.Client(base_url=url, timeout=60) as http,
        ):
            page = http.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf is not None
            http.post("/login", data={"csrf": csrf.group(1), "token": "bench"})
            version = sqlite3.sqlite_version
            print(f"\n{args.jobs:,} jobs, SQLite {version}, median of {args.rounds}\n")
            print("| page | server time (ms) | HTML (KiB) |\n|---|---:|---:|")
            for name, target in pages(app).items():
                ms, size = measure(http, target, args.rounds)
                print(f"| {name} | {ms:.1f} | {size / 1024:.1f} |")
        app.close()


if __name__ == "__main__":
    main()
