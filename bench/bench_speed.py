"""remotetask next to Huey and raw loops, in one run: enqueue, drain, pickup, worker RSS.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/bench_speed.py [--jobs 10000] [--single 2000] [--samples 200]
        [--url postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]
        [--write]

Systems: remotetask on SQLite (WAL, synchronous=FULL) and on PostgreSQL, Huey 3 on
SQLite (``fsync=True``: synchronous=FULL, the same durability) and on Redis, and raw
loops (bench_sqlite's and bench_postgres's: a bare table, one transaction per job).
Every phase starts on an empty database. Worker processes are speed_worker.py, which
imports only what a worker needs; drains are timed inside the worker by a ``mark`` task
queued before and after the no-op jobs (it sends ``time.monotonic()`` over UDP), so start-up is not
counted. Pickup is from ``add`` returning (committed) to the task starting, on an idle
worker in another process. Prints a Markdown table and the ratios of issue 9's goals;
``--write`` puts them under "## Against Huey" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchdoc import replace_section

BENCH = Path(__file__).resolve().parent
CHUNK = 1000
"""Jobs per bulk call."""
RAW_SQLITE, RAW_PG = "raw SQLite loop", "raw PostgreSQL loop"
DRAIN_MODES = (("1t", 1, 1), ("2t", 2, 1), ("2p", 1, 2))
"""Each drain's label, worker threads and worker processes."""

sys.path.insert(0, str(BENCH))
from speed_worker import SERVICE, make_huey, remotetask_app  # noqa: E402


class Marks:
    """A UDP socket on which ``mark`` tasks report when they ran."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]

    def next(self, timeout: float = 300.0) -> float:
        self._sock.settimeout(timeout)
        return float(self._sock.recv(64))

    def close(self) -> None:
        self._sock.close()


# -- the systems ------------------------------------------------------------------------


class System:
    """One queue to measure; every phase gets a fresh database from ``fresh``."""

    has_bulk = True
    has_workers = True

    def __init__(self, name: str, fresh: Callable[[], AbstractContextManager[str]]) -> None:
        self.name = name
        self._fresh = fresh

    def fresh(self) -> AbstractContextManager[str]:
        return self._fresh()

    def client(self, target: str) -> Any:
        """Whatever adds jobs to ``target``: an App's service, a Huey."""
        raise NotImplementedError

    def add(self, client: Any, task: str, value: object) -> None:
        raise NotImplementedError

    def add_bulk(self, client: Any, count: int) -> None:
        raise NotImplementedError

    def close(self, client: Any) -> None:
        raise NotImplementedError

    def serve_args(self, target: str, threads: int) -> list[str]:
        raise NotImplementedError


class Remotetask(System):
    def client(self, target: str) -> Any:
        return remotetask_app(target).add_service(SERVICE)

    def add(self, client: Any, task: str, value: object) -> None:
        client.add(task, value)

    def add_bulk(self, client: Any, count: int) -> None:
        for start in range(0, count, CHUNK):
            client.add_many("noop", range(start, min(count, start + CHUNK)))

    def close(self, client: Any) -> None:
        client.app.close()

    def serve_args(self, target: str, threads: int) -> list[str]:
        return ["remotetask", target, str(threads)]


class Huey(System):
    has_bulk = False

    def client(self, target: str) -> Any:
        return make_huey(target)

    def add(self, client: Any, task: str, value: object) -> None:
        client[1][task](value)  # calling a Huey task enqueues it

    def add_bulk(self, client: Any, count: int) -> None:
        noop = client[1]["noop"]
        for n in range(count):
            noop(n)

    def close(self, client: Any) -> None:
        """Huey keeps a connection per thread and closes it at exit."""

    def serve_args(self, target: str, threads: int) -> list[str]:
        return ["huey", target, str(threads)]


@contextmanager
def sqlite_file(folder: Path, prefix: str) -> Iterator[str]:
    """A new file's path, after ``prefix`` (``sqlite:///`` gives remotetask a URL)."""
    yield f"{prefix}{folder / uuid.uuid4().hex[:8]}.db"


@contextmanager
def redis_name(url: str) -> Iterator[str]:
    target = f"{url}#bench-{uuid.uuid4().hex[:8]}"
    yield target
    make_huey(target)[0].storage.flush_all()


# -- worker processes -------------------------------------------------------------------


def start_workers(system: System, target: str, threads: int, processes: int) -> list[Any]:
    """Worker processes, each in its own session so that a stop reaches its children.

    All start processing at once: each sets up (imports, opens the database) and waits
    at a gate until all are ready. Started as they came, the second of two processes
    ran its first job 0-61 ms after the first one did (now 0-9 ms), which drained
    alone meanwhile (docs/benchmarks.md, "Seventh pass").
    """
    if processes > 1 and isinstance(system, Huey):
        threads, processes = -processes, 1  # one consumer with worker processes
    workers = [
        subprocess.Popen(
            [sys.executable, str(BENCH / "speed_worker.py"), *system.serve_args(target, threads)],
            start_new_session=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    for worker in workers:
        assert worker.stdout is not None  # piped above
        if worker.stdout.readline() != b"ready\n":
            stop_workers(workers)
            raise RuntimeError(f"worker {worker.args!r} failed to start")
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        worker.stdin.flush()
    return workers


def stop_workers(workers: list[Any]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGKILL)
    for worker in workers:
        worker.wait(30)


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the phases -------------------------------------------------------------------------


@dataclass
class Figures:
    single: float | None = None
    single_ratio: float | None = None
    """Median over the rounds of this one-by-one enqueue rate ÷ the raw loop's."""
    bulk: float | None = None
    drain: dict[str, float] = field(default_factory=dict)
    """Median over the drain rounds, by "1t", "2t", "2p"."""
    drains: dict[str, list[float]] = field(default_factory=dict)
    """Each round's drain rate, by "1t", "2t", "2p" (ratios pair them round by round)."""
    pickup: tuple[float, float] | None = None
    idle_cpu: float | None = None
    rss: float | None = None


def enqueue_rate(system: System, count: int, bulk: bool) -> float:
    with system.fresh() as target:
        client = system.client(target)
        system.add(client, "noop", -1)  # opens the database and creates the schema
        started = time.perf_counter()
        if bulk:
            system.add_bulk(client, count)
        else:
            for n in range(count):
                system.add(client, "noop", n)
        elapsed = time.perf_counter() - started
        system.close(client)
    return count / elapsed


def drain_rate(
    system: System, jobs: int, threads: int, processes: int, marks: Marks
) -> tuple[float, float]:
    """Jobs/s between the marks around ``jobs`` no-ops, and the first worker's peak RSS."""
    with system.fresh() as target:
        client = system.client(target)
        system.add(client, "mark", marks.port)
        system.add_bulk(client, jobs)
        system.add(client, "mark", marks.port)
        system.close(client)
        workers = start_workers(system, target, threads, processes)
        try:
            first, last = marks.next(), marks.next()
            rss = peak_rss_mib(workers[0].pid)
        finally:
            stop_workers(workers)
    return jobs / (last - first), rss


def pickup(system: System, samples: int, marks: Marks) -> tuple[float, float, float]:
    """p50 and p99 ms from ``add`` returning to the task starting; the idle worker's CPU %."""
    with system.fresh() as target:
        client = system.client(target)
        (worker,) = start_workers(system, target, 1, 1)
        try:
            system.add(client, "mark", marks.port)
            marks.next(60)  # the worker is up
            time.sleep(0.5)
            cpu_before, idle_started = cpu_seconds(worker.pid), time.monotonic()
            time.sleep(5.0)
            idle = (cpu_seconds(worker.pid) - cpu_before) / (time.monotonic() - idle_started)
            delays = []
            for _ in range(samples):
                time.sleep(0.02)  # let the worker go idle: measure a wake-up
                system.add(client, "mark", marks.port)
                returned = time.monotonic()
                delays.append((marks.next(30) - returned) * 1000)
        finally:
            stop_workers([worker])
            system.close(client)
    cuts = statistics.quantiles(delays, n=100)
    return cuts[49], cuts[98], idle * 100


def drain_rounds(
    systems: list[System], args: argparse.Namespace, marks: Marks
) -> dict[str, Figures]:
    """Every drain of every system, all in turn, ``--drain-rounds`` times.

    A drain of 10,000 no-ops takes about a second, so one hiccup of a shared machine
    moves a single figure by 10-20 %: each figure is the median of its rounds, and each
    ratio the median of the ratios within a round (docs/benchmarks.md). Each round runs
    the drains in its own order (seeded, so a run can be repeated): a drain's figure
    depends on what ran just before it, and in a fixed order that would go into the
    ratios (2 threads ÷ 1 of the same code: 0.985 with one thread first, 0.92 with two
    threads first, docs/benchmarks.md "Sixth pass").
    """
    results = {system.name: Figures() for system in systems}
    drains = [(system, *mode) for system in systems for mode in DRAIN_MODES]
    for round_number in range(args.drain_rounds):
        order = random.Random(round_number).sample(drains, len(drains))
        for system, label, threads, processes in order:
            figures = results[system.name]
            print(f"  {system.name}: drain {label}", file=sys.stderr, flush=True)
            rate, rss = drain_rate(system, args.jobs, threads, processes, marks)
            figures.drains.setdefault(label, []).append(rate)
            if label == "1t" and figures.rss is None:
                figures.rss = rss
    for figures in results.values():
        figures.drain = {label: statistics.median(rates) for label, rates in figures.drains.items()}
    return results


def measure(system: System, args: argparse.Namespace, marks: Marks, figures: Figures) -> None:
    """The pickup figures (``rounds`` and ``drain_rounds`` measure the others)."""
    print(f"  {system.name}: pickup", file=sys.stderr, flush=True)
    p50, p99, idle = pickup(system, args.samples, marks)
    figures.pickup, figures.idle_cpu = (p50, p99), idle


def raw_sqlite_single(folder: Path, count: int) -> float:
    from bench_sqlite import raw_enqueue

    return count / raw_enqueue(folder / f"{uuid.uuid4().hex[:8]}.db", count, bulk=False)


RAW_PG_TABLE = (
    "CREATE TABLE q (id BIGSERIAL PRIMARY KEY, task TEXT NOT NULL, input TEXT NOT NULL, "
    "status TEXT NOT NULL, created DOUBLE PRECISION NOT NULL)"
)
RAW_PG_INSERT = "INSERT INTO q (task, input, status, created) VALUES ('noop', %s, 'queued', %s)"


def wait_for_postgres(url: str, timeout: float = 120.0) -> None:
    """Other test runs on a shared machine restart the server now and then: wait it out."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url, connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def raw_pg_single(base_url: str, count: int) -> float:
    """Autocommit INSERTs: one committed (flushed) transaction per job, as an ``add``."""
    import psycopg

    from bench_postgres import fresh_schema

    wait_for_postgres(base_url)
    with fresh_schema(base_url) as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RAW_PG_TABLE)
        started = time.perf_counter()
        for n in range(count):
            conn.execute(RAW_PG_INSERT, (str(n), time.time()))
        return count / (time.perf_counter() - started)


def rounds(
    runs: dict[str, Callable[[int], float]], count: int, rounds: int, what: str
) -> dict[str, list[float]]:
    """Enqueue rates, every system in turn, ``rounds`` times.

    An add is a commit and its flush, whose time drifts on a shared machine:
    alternating lets each system be compared with the raw loop of its own round.
    """
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            print(f"  {name}: {what}", file=sys.stderr, flush=True)
            rates[name].append(run(count // rounds))
    return rates


def raw_sqlite_bulk(folder: Path, count: int) -> float:
    """``executemany`` of 1,000 rows per transaction into bench_sqlite's raw table."""
    import json

    from bench_sqlite import raw_connection

    conn = raw_connection(folder / f"{uuid.uuid4().hex[:8]}.db")
    insert = (
        "INSERT INTO q (service, task, input, status, created) VALUES (1, 'noop', ?, 'queued', ?)"
    )
    started = time.perf_counter()
    for start in range(0, count, CHUNK):
        conn.execute("BEGIN IMMEDIATE")
        rows = [(json.dumps(n), time.time()) for n in range(start, min(count, start + CHUNK))]
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def raw_pg_bulk(base_url: str, count: int) -> float:
    """``executemany`` of 1,000 rows per transaction (psycopg pipelines it)."""
    import psycopg

    from bench_postgres import fresh_schema

    wait_for_postgres(base_url)
    with fresh_schema(base_url) as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RAW_PG_TABLE)
        started = time.perf_counter()
        for start in range(0, count, CHUNK):
            with conn.transaction(), conn.cursor() as cur:
                rows = [(str(n), time.time()) for n in range(start, min(count, start + CHUNK))]
                cur.executemany(RAW_PG_INSERT, rows)
        return count / (time.perf_counter() - started)


def raw_drains(sqlite_folder: Path, pg_url: str, jobs: int) -> dict[str, float]:
    """The raw loops' drains: bench_sqlite's (two commits per job), bench_postgres's."""
    from bench_postgres import bench_raw
    from bench_sqlite import raw_drain, raw_enqueue

    path = sqlite_folder / "raw-drain.db"
    raw_enqueue(path, jobs, bulk=True)
    sqlite_rate = jobs / raw_drain(path)
    wait_for_postgres(pg_url)
    return {RAW_SQLITE: sqlite_rate, RAW_PG: bench_raw(pg_url, jobs, 1)}


# -- the report -------------------------------------------------------------------------

BOUNDS = """How it is measured, and what bounds each figure:

- **Enqueue one by one**: every `add` (Huey: every task call) is a durable commit, so the
  machine's flush time (SQLite's fsync of the WAL; PostgreSQL's WAL flush) dominates and
  drifts between runs on a shared VM. Each system runs in turn in `--rounds` rounds; the
  ratio to the raw loop (a bare one-index table, one transaction per job, same
  durability) is the median of the ratios within a round.
- **Bulk**: `add_many` of 1,000 jobs per call, in rounds like the above (the median
  is shown; `--jobs` split over the rounds). On SQLite the Python per job (checking
  and encoding its input, the row) and SQLite's insert into the jobs table's five
  indexes (the raw table has one), one `INSERT … SELECT FROM json_each` statement per
  call; on PostgreSQL one `INSERT … SELECT FROM
  jsonb_array_elements` statement per call (no foreign-key check per row since
  migration 0004), bound by the server's insert and index work. Huey has no bulk
  enqueue.
- **Drains**: one worker process (`SimpleProcessor`; Huey: one consumer thread), a
  `MultiProcessor(2)` (Huey: two threads), two processes (Huey: two worker processes),
  started at once (each waits at a gate until all have imported and opened the
  database), timed from the first `mark` task to the last, around `--jobs` no-op
  jobs, every system and mode once a round, `--drain-rounds` rounds, each in its own
  shuffled order (what ran just before moves a drain): a figure is the median of its
  rounds, a ratio the median of the ratios within each round. These are the claim
  and finish paths (issue 9 goal 1), measured here for the ratio to Huey.
  PostgreSQL's drain is bound by CPU on this two-CPU machine: 41-56 µs of the
  server's per job (a claim and a finish, each a non-HOT update writing the indexes of
  `jobs`) and 29-43 µs of the worker's (on the machines of the fifth to eighth passes;
  about twice as much on the slower one of the ninth); one worker process keeps 125-146 %
  of the two CPUs busy and two keep 155-190 % (the machine 5-11 % idle), so two processes
  drain 1.2-1.55x one here (1.66x once, in a quiet moment; docs/benchmarks.md, "Fifth
  pass" to "Ninth pass").
  Both backends' drains wait on their commits (the worker thread idles while a group
  is stored and the next claimed), so a second thread has nothing to add:
  `MultiProcessor(2)` runs these short no-op jobs through one thread (docs/guide.md,
  "Processing"). Its ratio to one thread moves with the noise of the run on PostgreSQL
  (0.85-1.07) and stays a little below one on SQLite (about 0.95 in alternating runs,
  0.81-0.98 in this bench's runs): deciding that one thread is enough (the CPU clock
  read around each run, the extra context switches, runs that waited for the
  interpreter lock read as waiting) costs the worker 2-4 µs of CPU per job more than
  one thread ("Sixth pass").
- **Pickup**: from `add` returning to the task starting in an idle worker process, 20 ms
  after the previous job. The wake-up itself (a datagram on SQLite, a NOTIFY on
  PostgreSQL) takes tens of microseconds; the rest is the claim (on SQLite a commit
  with its fsync) and two thread hand-offs in the worker, so the p99 follows the
  machine's fsync and scheduling tails. Huey's SQLite consumer polls, from 100 ms
  backing off up to 10 s; its Redis consumer blocks on `BRPOP`.
- **Idle worker CPU**: user plus system time of the idle worker over 5 s, from
  `/proc` (10 ms ticks, so 0.2 % is one tick).
- **Worker RSS**: peak RSS (`VmHWM`) of the one-thread drain's worker process,
  `bench/speed_worker.py`, which imports only remotetask (or Huey) and the tasks. The
  tasks are untyped, as Huey's are: a task with an annotated input loads pydantic,
  about 9 MiB more. On PostgreSQL, psycopg and its pool are about 13 MiB of it.
"""


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(results: dict[str, Figures]) -> str:
    lines = [
        "| system | enqueue 1-by-1 /s | bulk /s | drain 1 thread /s | 2 threads /s "
        "| 2 processes /s | pickup p50 / p99 ms | idle worker CPU | worker RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in results.items():
        pickup = "-" if f.pickup is None else f"{f.pickup[0]:.2f} / {f.pickup[1]:.2f}"
        idle = "-" if f.idle_cpu is None else f"{f.idle_cpu:.2f} %"
        rss = "-" if f.rss is None else f"{f.rss:.0f}"
        lines.append(
            f"| {name} | {fmt(f.single)} | {fmt(f.bulk)} | {fmt(f.drain.get('1t'))} "
            f"| {fmt(f.drain.get('2t'))} | {fmt(f.drain.get('2p'))} | {pickup} | {idle} | {rss} |"
        )
    return "\n".join(lines)


def paired(ours: list[float], theirs: list[float]) -> float:
    """The median of the ratios of two figures measured in the same rounds."""
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def goals(results: dict[str, Figures]) -> str:
    """Issue 9's goals as ratios of figures measured in this run."""
    huey = results.get("Huey, SQLite")
    lines = []

    def check(text: str, ok: bool) -> None:
        lines.append(f"- {'met' if ok else 'NOT met'}: {text}")

    for backend, bulk_goal, p50_goal, p99_goal in (
        ("SQLite", 100_000, 2.0, 10.0),
        ("PostgreSQL", 50_000, 1.5, 5.0),
    ):
        ours = results.get(f"remotetask, {backend}")
        if ours is None:
            continue
        if huey is not None:
            ratio = paired(ours.drains["1t"], huey.drains["1t"])
            check(
                f"{backend}: drain 1 thread ÷ Huey-SQLite 1 thread = {ratio:.2f}x (≥ 5x)",
                ratio >= 5,
            )
        for label, what in (("2t", "2 threads"), ("2p", "2 processes")):
            ratio = paired(ours.drains[label], ours.drains["1t"])
            floor = 1.5 if (backend, label) == ("PostgreSQL", "2p") else 1.0
            check(f"{backend}: {what} ÷ 1 thread = {ratio:.2f}x (≥ {floor}x)", ratio >= floor)
        if ours.pickup is not None:
            p50, p99 = ours.pickup
            check(
                f"{backend}: pickup p50 {p50:.2f} ms (≤ {p50_goal}), "
                f"p99 {p99:.2f} ms (≤ {p99_goal})",
                p50 <= p50_goal and p99 <= p99_goal,
            )
        if ours.idle_cpu is not None:
            check(
                f"{backend}: idle worker CPU {ours.idle_cpu:.2f} % of a core (< 1 %)",
                ours.idle_cpu < 1,
            )
        if ours.single_ratio is not None:
            ratio = ours.single_ratio
            check(
                f"{backend}: enqueue 1-by-1 ÷ raw insert loop = {ratio:.0%} (≥ 50 %)", ratio >= 0.5
            )
        if ours.bulk is not None:
            check(
                f"{backend}: bulk {ours.bulk:,.0f} jobs/s (≥ {bulk_goal:,})", ours.bulk >= bulk_goal
            )
        if ours.rss is not None:
            check(f"{backend}: worker RSS {ours.rss:.0f} MiB (≤ 40)", ours.rss <= 40)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs per bulk and drain phase")
    parser.add_argument("--single", type=int, default=2_000, help="jobs added one by one")
    parser.add_argument("--samples", type=int, default=200, help="pickup samples per system")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each enqueue measure")
    parser.add_argument("--drain-rounds", type=int, default=3, help="rounds of every drain")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--only", help="systems to run, comma-separated: rt-sqlite,rt-pg,huey-sqlite,huey-redis,raw"
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    results: dict[str, Figures] = {}
    load_before = os.getloadavg()[0]
    marks = Marks()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)

        def pg() -> AbstractContextManager[str]:
            from bench_postgres import fresh_schema

            wait_for_postgres(args.url)
            return fresh_schema(args.url)

        systems = {
            "rt-sqlite": Remotetask(
                "remotetask, SQLite", lambda: sqlite_file(folder, "sqlite:///")
            ),
            "rt-pg": Remotetask("remotetask, PostgreSQL", pg),
            "huey-sqlite": Huey("Huey, SQLite", lambda: sqlite_file(folder, "")),
            "huey-redis": Huey("Huey, Redis", lambda: redis_name(args.redis)),
        }
        wanted = [*systems, "raw"] if args.only is None else args.only.split(",")
        chosen = {key: system for key, system in systems.items() if key in wanted}
        runs: dict[str, Callable[[int], float]] = {
            system.name: functools.partial(enqueue_rate, system, bulk=False)
            for system in chosen.values()
        }
        if "raw" in wanted:
            runs[RAW_SQLITE] = functools.partial(raw_sqlite_single, folder)
            runs[RAW_PG] = functools.partial(raw_pg_single, args.url)
        singles = rounds(runs, args.single, args.rounds, "enqueue one by one")
        bulk_runs: dict[str, Callable[[int], float]] = {
            system.name: functools.partial(enqueue_rate, system, bulk=True)
            for system in chosen.values()
            if system.has_bulk
        }
        if "raw" in wanted:
            bulk_runs[RAW_SQLITE] = functools.partial(raw_sqlite_bulk, folder)
            bulk_runs[RAW_PG] = functools.partial(raw_pg_bulk, args.url)
        bulks = rounds(bulk_runs, args.jobs, args.rounds, "bulk enqueue")
        results.update(drain_rounds(list(chosen.values()), args, marks))
        for system in chosen.values():
            measure(system, args, marks, results[system.name])
        if "raw" in wanted:
            print("  raw loops", file=sys.stderr, flush=True)
            for name, rate in raw_drains(folder, args.url, args.jobs).items():
                results[name] = Figures(drain={"1t": rate})
        for name, rates in singles.items():
            figures = results.setdefault(name, Figures())
            figures.single = statistics.median(rates)
            raw = singles.get(RAW_PG if "PostgreSQL" in name else RAW_SQLITE)
            if raw is not None and name not in (RAW_SQLITE, RAW_PG):
                figures.single_ratio = statistics.median(
                    ours / floor for ours, floor in zip(rates, raw, strict=True)
                )
        for name, rates in bulks.items():
            results.setdefault(name, Figures()).bulk = statistics.median(rates)
    marks.close()
    import psycopg

    with psycopg.connect(args.url) as conn:
        server = conn.execute("SHOW server_version").fetchone()
    text = f"""## Against Huey

Measured by `.venv/bin/python bench/bench_speed.py --jobs {args.jobs} --single {args.single} \
--samples {args.samples} --rounds {args.rounds} --drain-rounds {args.drain_rounds}` on \
{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()}, \
SQLite {sqlite3.sqlite_version}, PostgreSQL \
{server[0] if server else "?"} and Redis on the same machine), all in one run. Load average \
{load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end: other sessions' test \
suites share the machine, so absolute figures move (up to 2x between runs); compare within a run.

{table(results)}

Issue 9's goals, as ratios of the figures above:

{goals(results)}

{BOUNDS}"""
    if args.write:
        replace_section("Against Huey", text)
    print(text)


if __name__ == "__main__":
    main()
