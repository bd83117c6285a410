"""HTTP benchmark: submit throughput and submit-to-result latency through `remotetask serve`.

Starts a real server (a subprocess on a free loopback port, SQLite file in a
temporary directory, the example tasks) and drives it with remotetask.Client
from separate client processes (each its own token, as separate callers
would be); prints the figures; ``--write`` replaces the "HTTP" section of
docs/benchmarks.md.

    .venv/bin/python bench/bench_http.py [--jobs 4000] [--latency 300] [--write]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import remotetask
from benchdoc import replace_section

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "bench@Echo"
HEADING = "## HTTP"
CLIENTS = 4


def start_server(workdir: Path, threads: int, *extra: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOTETASK_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    database = f"sqlite:///{workdir / 'bench.db'}"
    command = [
        sys.executable, "-m", "remotetask", "serve", "--app", "examples.tasks:app",
        "--database", database, "--service", SERVICE, "--port", "0",
        "--threads", str(threads), *extra,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("listening on "):
            return process, line.removeprefix("listening on ").strip()
    raise SystemExit("the server did not start")


def tokens(workdir: Path, count: int) -> list[str]:
    """``count`` submit tokens, made with the CLI on the server's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOTETASK_")}
    database = f"sqlite:///{workdir / 'bench.db'}"
    made = []
    for n in range(count):
        out = subprocess.run(
            [sys.executable, "-m", "remotetask", "token", "create", "--name", f"bench{n}",
             "--role", "admin", "--database", database],
            env=env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        made.append(out.splitlines()[-1].strip())
    return made


def _client(url: str, token: str, jobs: int, bulk: int, start: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    with remotetask.Client(url, token) as client:
        service = client.service(SERVICE)
        service.add("echo", "warm-up")
        start.wait()  # type: ignore[attr-defined]
        if bulk:
            for first in range(0, jobs, bulk):
                service.add_many("echo", [{"n": n} for n in range(first, first + bulk)])
        else:
            for n in range(jobs):
                service.add("echo", {"n": n})


def _raw(url: str, token: str, jobs: int, bulk: int, start: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    """What ``Client.add`` sends (a JSON body and an Idempotency-Key), with http.client."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    path = f"/api/v1/services/{SERVICE}/jobs"
    for n in range(-1, jobs):
        if n == 0:
            start.wait()  # type: ignore[attr-defined]
        headers["Idempotency-Key"] = uuid.uuid4().hex
        connection.request("POST", path, json.dumps({"task": "echo", "input": {"n": n}}), headers)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 201, answer.status


def submit_rate(url: str, secrets: list[str], jobs: int, bulk: int = 0, raw: bool = False) -> float:
    """Jobs accepted per second, ``jobs`` split over one client process per token."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    share = jobs // len(secrets)
    target = _raw if raw else _client
    processes = [
        context.Process(target=target, args=(url, token, share, bulk, start)) for token in secrets
    ]
    for process in processes:
        process.start()
    time.sleep(1.5)  # the clients are connected and warm
    started = time.perf_counter()
    start.set()
    for process in processes:
        process.join()
        assert process.exitcode == 0
    return share * len(secrets) / (time.perf_counter() - started)


def drain(url: str, token: str) -> None:
    with remotetask.Client(url, token) as client:
        service = client.service(SERVICE)
        while True:
            counts = service.counts()
            if not counts.get(remotetask.QUEUED, 0) and not counts.get(remotetask.PROCESSING, 0):
                return
            time.sleep(0.2)


def latency(url: str, token: str, count: int) -> list[float]:
    """Seconds from add() to the result being in the client's hands, one job at a time."""
    samples = []
    with remotetask.Client(url, token) as client:
        service = client.service(SERVICE)
        for n in range(count):
            started = time.perf_counter()
            job = service.wait(service.add("echo", n), timeout=60)
            samples.append(time.perf_counter() - started)
            assert job.result == n
    return samples


def raw_latency(url: str, token: str, count: int) -> list[float]:
    """The same with http.client: POST the job, then GET it with ``?wait=``."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    path = f"/api/v1/services/{SERVICE}/jobs"
    samples = []
    for n in range(count):
        started = time.perf_counter()
        headers["Idempotency-Key"] = uuid.uuid4().hex
        connection.request("POST", path, json.dumps({"task": "echo", "input": n}), headers)
        job_id = json.loads(connection.getresponse().read())["id"]
        connection.request("GET", f"{path}/{job_id}?wait=30", headers=headers)
        job = json.loads(connection.getresponse().read())
        samples.append(time.perf_counter() - started)
        assert job["result"] == n
    return samples


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(args: argparse.Namespace) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        idle, url = start_server(Path(tmp), args.threads, "--autostart", "none@Nothing")
        try:
            secrets = tokens(Path(tmp), CLIENTS)
            alone_one = submit_rate(url, secrets[:1], args.jobs // 2)
            alone = submit_rate(url, secrets, args.jobs)
            raw = submit_rate(url, secrets, args.jobs, raw=True)
            bulk = submit_rate(url, secrets, args.jobs * 10, bulk=1000)
        finally:
            idle.send_signal(signal.SIGTERM)
            idle.wait(60)
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(Path(tmp), args.threads)
        try:
            secrets = tokens(Path(tmp), CLIENTS)
            samples = latency(url, secrets[0], args.latency)
            raw_samples = raw_latency(url, secrets[0], args.latency)
            four = submit_rate(url, secrets, args.jobs, raw=True)
            drain(url, secrets[0])
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    ms = [s * 1000 for s in samples]
    raw_ms = [s * 1000 for s in raw_samples]
    return [
        ("submit with `Client.add`, 1 client, nothing processing (jobs/s)", f"{alone_one:.0f}"),
        (f"submit with `Client.add`, {CLIENTS} clients, nothing processing (jobs/s)",
         f"{alone:.0f}"),
        (f"submit with http.client, {CLIENTS} clients, nothing processing (jobs/s)",
         f"{raw:.0f}"),
        (f"bulk submit with `Client.add_many`, {CLIENTS} clients, 1,000 jobs a request (jobs/s)",
         f"{bulk:.0f}"),
        (f"submit with http.client, {CLIENTS} clients, while the server runs them (jobs/s)",
         f"{four:.0f}"),
        ("submit-to-result with http.client, idle server, p50 / p99 (ms)",
         f"{statistics.median(raw_ms):.2f} / {percentile(raw_ms, 0.99):.2f}"),
        ("submit-to-result with `Client.add` + `wait`, idle server, p50 / p99 (ms)",
         f"{statistics.median(ms):.2f} / {percentile(ms, 0.99):.2f}"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--latency", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2, help="Worker threads on the server.")
    parser.add_argument("--write", action="store_true", help="Update docs/benchmarks.md.")
    args = parser.parse_args()
    rows = measure(args)
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    section = f"""{HEADING}

Measured by `bench/bench_http.py` (`.venv/bin/python bench/bench_http.py --jobs {args.jobs} \
--latency {args.latency} --write`): a real `remotetask serve` subprocess on 127.0.0.1 (SQLite
file with `synchronous=FULL`, {args.threads} worker threads, the `echo` example task) driven over
HTTP/1.1 keep-alive from {CLIENTS} client processes, one token each, by `remotetask.Client`
or, where a row says so, by http.client sending the same requests (cheaper clients: they
share the CPUs).
Latency is one job at a time on an idle server: submit, then a long-poll (`?wait=`) until
the result is back in the client. Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared by
server and clients; load average {os.getloadavg()[0]:.1f} at the end, other work included), Python
{platform.python_version()}, {time.strftime("%Y-%m-%d")}.

| figure | value |
| --- | --- |
{table}

Concurrent submits are group-committed: the server stores whatever arrived while the previous
commit ran in one transaction, so 4 clients cost far fewer than one fsync per job, and each
201 still comes after its own commit. "Nothing processing" is a server whose autostart selects
no service: HTTP plus the commits alone; "while the server runs them" adds a claim and a
finish per job on the same SQLite writer and the same two cores. Each `Client.add` sends an
Idempotency-Key (so its retries are safe); the job is read back after the commit only when
that key had been used before.

What bounds the 4-client rows is CPU (2026-12-03 evening, nothing else running; server
CPU from `/proc/<pid>/stat`, the clients' from `getrusage` of the finished client
processes less their start-up): a submit costs the server 0.45-0.5 ms (the submit and
job-read fast paths run in front of FastAPI's middleware, `web/fastpath.py`; two thirds
on the event loop, a third in the group-commit writer, mostly its commit with its fsync),
an http.client client about 0.25 ms and a `Client.add` (httpx) about 0.7 ms, so the four
`Client.add` clients need more CPU than the server. Submit-to-result on an idle server
(medians of 370 jobs traced with timestamps in the server, from the POST's arrival): the
insert and its commit end at 0.75 ms and the 201 is out at 1.0 ms; the worker's claim
runs from 0.9 to 1.7 ms, while the client's GET arrives (1.4 ms) and reads the job on the
event loop (a SQLite file's reads never wait for a writer, so no thread hand-off); the
run, then the finish's commit from 2.0 to 2.9 ms; the woken GET reads the ended job on
its loop and its answer is out at 3.25 ms. The claim's statement takes 0.2-0.35 ms in the
trace for tens of microseconds alone, the commits likewise more than their fsyncs: each
thread on the path (web writer, processing, worker, commit, event loop) waits for the
interpreter lock while another runs Python, which is what keeps p50 about at the goal of
3 ms on these two CPUs (2.56 to 3.97 ms in five runs of this script one evening, 2.62
and 2.67 ms in two runs later that night; see "Fourth pass" for the changes behind it,
and "Fifth pass" for storing a lone run on its own thread, which changed nothing).
Tried and not kept: a 0.5 ms GIL switch
interval (fewer submits/s, and no lower latency at 1 or 0.2 ms), sending each answer's
headers and body in one write (no difference in alternating runs), `TCP_NODELAY` on the
client's socket, and one SQLite connection for all of a process's writes, to keep its
page cache across the web writer's, the claim's and the commit's transactions (no
difference in five alternating rounds).
"""
    print(section)
    if args.write:
        replace_section(HEADING.removeprefix("## "), section)


if __name__ == "__main__":
    main()
