"""S9 (reliability battery): one token floods `serve` while another site submits 5 jobs a second.

Starts a real `remotetask serve` (SQLite, `--rate-limit`, default 500 requests a
second per token), measures the victim's submit latency alone, then again while
flooder processes send submits as fast as they can with one token of another
site, and prints the status counts and the victim's p50/p99 both times.

    .venv/bin/python bench/bench_flood.py [--seconds 30] [--flooders 2] [--rate-limit 500]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_http import start_server, tokens

VICTIM = "victim@Echo"
FLOOD = "bench@Echo"


def flood(url: str, token: str, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    codes: Counter[int] = Counter()
    retry_after = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            answer = http.post(f"/api/v1/services/{FLOOD}/jobs", json={"task": "echo"})
            codes[answer.status_code] += 1
            retry_after += answer.status_code == 429 and "retry-after" in answer.headers
    out.put((dict(codes), retry_after))


def victim(url: str, token: str, seconds: float) -> tuple[list[float], Counter[int]]:
    latencies, codes = [], Counter[int]()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        http.post(f"/api/v1/services/{VICTIM}/jobs", json={"task": "echo"})  # warm
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            answer = http.post(f"/api/v1/services/{VICTIM}/jobs", json={"task": "echo"})
            latencies.append((time.perf_counter() - started) * 1000)
            codes[answer.status_code] += 1
            time.sleep(max(0.0, 0.2 - (time.perf_counter() - started)))
    return latencies, codes


def p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--flooders", type=int, default=2)
    parser.add_argument("--rate-limit", type=float, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(
            Path(tmp), 2, "--service", VICTIM, "--rate-limit", str(args.rate_limit)
        )
        try:
            flooder, quiet = tokens(Path(tmp), 2)
            alone, _ = victim(url, quiet, args.seconds)
            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            floods = [
                context.Process(target=flood, args=(url, flooder, args.seconds + 2, results))
                for _ in range(args.flooders)
            ]
            for process in floods:
                process.start()
            time.sleep(1)
            during, victim_codes = victim(url, quiet, args.seconds)
            flood_codes: Counter[int] = Counter()
            with_retry_after = 0
            for _ in floods:
                codes, retry = results.get()
                flood_codes.update(codes)
                with_retry_after += retry
            for process in floods:
                process.join()
        finally:
            server.terminate()
            server.wait(60)
    rate = sum(flood_codes.values()) / (args.seconds + 2)
    print(f"rate limit {args.rate_limit:g}/s per token; flood {rate:.0f} requests/s "
          f"from {args.flooders} processes: {dict(flood_codes)} "
          f"({with_retry_after} of the 429s with Retry-After)")  # fmt: skip
    print(f"victim alone: p50 {statistics.median(alone):.1f} ms, p99 {p99(alone):.1f} ms")
    print(f"victim during the flood: p50 {statistics.median(during):.1f} ms, "
          f"p99 {p99(during):.1f} ms, statuses {dict(victim_codes)}; "
          f"p99 ratio {p99(during) / p99(alone):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
