"""HTTP benchmark: submit throughput and submit-to-result latency through `remotetask serve`.

Starts a real server (a subprocess on a free loopback port, SQLite file in a
temporary directory, the example tasks), drives it with remotetask.Client and
prints the figures; ``--write`` replaces the "HTTP" section of docs/benchmarks.md.

    .venv/bin/python bench/bench_http.py [--jobs 2000] [--latency 300] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import remotetask

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "bench@Echo"
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## HTTP"


def start_server(
    workdir: Path, threads: int, *extra: str
) -> tuple[subprocess.Popen[str], str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOTETASK_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    command = [
        sys.executable, "-m", "remotetask", "serve", "--app", "examples.tasks:app",
        "--database", f"sqlite:///{workdir / 'bench.db'}", "--service", SERVICE,
        "--port", "0", "--threads", str(threads), *extra,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    token = ""
    for line in process.stdout:
        if line.strip().startswith("rt_"):
            token = line.strip()
        if line.startswith("listening on "):
            return process, line.removeprefix("listening on ").strip(), token
    raise SystemExit("the server did not start")


def submit_throughput(url: str, token: str, jobs: int, clients: int) -> float:
    """Jobs accepted per second with ``clients`` concurrent clients."""
    per_client = jobs // clients

    def work() -> None:
        with remotetask.Client(url, token) as client:
            service = client.service(SERVICE)
            for n in range(per_client):
                service.add("echo", {"n": n})

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_client * clients / (time.perf_counter() - started)


def drain(url: str, token: str) -> None:
    with remotetask.Client(url, token) as client:
        service = client.service(SERVICE)
        while service.counts().get(remotetask.QUEUED, 0) or service.counts().get(
            remotetask.PROCESSING, 0
        ):
            newest = service.page(limit=1)[0][0]
            service.wait(newest.id, timeout=120)


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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--latency", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2, help="Worker threads on the server.")
    parser.add_argument("--write", action="store_true", help="Update docs/benchmarks.md.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        idle, url, token = start_server(Path(tmp), args.threads, "--autostart", "none@Nothing")
        try:
            alone = submit_throughput(url, token, args.jobs, 1)
        finally:
            idle.send_signal(signal.SIGTERM)
            idle.wait(60)
    with tempfile.TemporaryDirectory() as tmp:
        process, url, token = start_server(Path(tmp), args.threads)
        try:
            one = submit_throughput(url, token, args.jobs, 1)
            drain(url, token)
            four = submit_throughput(url, token, args.jobs, 4)
            drain(url, token)
            samples = latency(url, token, args.latency)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    ms = [s * 1000 for s in samples]
    rows = [
        ("submit, 1 client, nothing processing (jobs/s)", f"{alone:.0f}"),
        ("submit, 1 client, while the server processes them (jobs/s)", f"{one:.0f}"),
        ("submit, 4 concurrent clients (jobs/s)", f"{four:.0f}"),
        ("submit-to-result latency p50 (ms)", f"{statistics.median(ms):.1f}"),
        ("submit-to-result latency p95 (ms)", f"{percentile(ms, 0.95):.1f}"),
        ("submit-to-result latency p99 (ms)", f"{percentile(ms, 0.99):.1f}"),
        ("submit-to-result latency max (ms)", f"{max(ms):.1f}"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    section = f"""{HEADING}

Measured by `bench/bench_http.py` (`.venv/bin/python bench/bench_http.py --jobs {args.jobs} \
--latency {args.latency} --write`): a real `remotetask serve` subprocess on 127.0.0.1 (SQLite
file with `synchronous=FULL`, {args.threads} worker threads, the `echo` example task) driven by
`remotetask.Client` over HTTP/1.1 keep-alive. Latency is one job at a time: `add()` then
`wait()` (a long-poll) until the result is back in the client. Machine: {platform.machine()},
{os.cpu_count()} CPUs, Python {platform.python_version()}, {time.strftime("%Y-%m-%d")}.

| figure | value |
| --- | --- |
{table}

Each submit is one HTTP request and one committed SQLite transaction (fsync); running a
job adds a claim and a finish transaction, so while the server also processes the jobs
the writes of submitting and running share one SQLite writer. "Nothing processing" is a
server whose autostart selects no service: the cost of HTTP plus one commit alone.
"""
    print(section)
    if args.write:
        write_section(section)


def write_section(section: str) -> None:
    """Replace (or add) the HTTP section of docs/benchmarks.md, leaving the others alone."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == HEADING), None)
    if start is None:
        DOC.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    DOC.write_text("".join(lines[:start]) + section + ("\n" + rest if rest else ""), "utf-8")


if __name__ == "__main__":
    main()
