"""The worker processes of bench_speed.py, and the tasks both sides of it register.

A worker is this script, run as ``speed_worker.py KIND TARGET THREADS`` (``KIND``
``remotetask`` or ``huey``; negative ``THREADS``: a Huey consumer with that many worker
processes); it starts once it reads a line on stdin, after writing "ready" on stdout.
It imports only what a worker of that kind needs, so the RSS that bench_speed.py
reports is the queue's own, not its measuring harness's.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from typing import Any

import remotetask

SERVICE = "bench@Speed"


def send_mark(port: object) -> None:
    """The ``mark`` task: tell the benchmark when it ran.

    Its input is untyped, as every task here (and Huey's) is: an annotated input would
    load pydantic into the worker, about 9 MiB of its RSS (docs/benchmarks.md).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(repr(time.monotonic()).encode(), ("127.0.0.1", int(str(port))))


def remotetask_app(url: str, threads: int = 1) -> remotetask.App:
    processor: remotetask.SimpleProcessor | remotetask.MultiProcessor = (
        remotetask.MultiProcessor(threads) if threads > 1 else remotetask.SimpleProcessor()
    )
    app = remotetask.App(url, settings=remotetask.Settings(processor=processor, auto_migrate=True))
    app.register("noop", lambda _input: None)
    app.register("mark", send_mark)
    return app


def make_huey(target: str) -> tuple[Any, dict[str, Any]]:
    """A Huey on ``target`` (a SQLite file path, or ``redis://…#name``) and its two tasks."""
    from huey import RedisHuey, SqliteHuey

    if target.startswith("redis://"):
        url, name = target.split("#")
        huey = RedisHuey(name, url=url)
    else:
        huey = SqliteHuey("bench", filename=target, fsync=True)

    @huey.task(name="noop")
    def noop(_n: object) -> None:
        return None

    @huey.task(name="mark")
    def mark(port: object) -> None:
        send_mark(port)

    return huey, {"noop": noop, "mark": mark}


def serve(kind: str, target: str, threads: int) -> None:
    """Run in a worker process until terminated, once the gate opens (see ``at_the_gate``)."""
    if kind == "remotetask":
        service = remotetask_app(target, threads).service(SERVICE)
        at_the_gate()
        service.start_processing()
        threading.Event().wait()  # until killed
    huey, _tasks = make_huey(target)
    worker_type = "process" if threads < 0 else "thread"
    consumer = huey.create_consumer(workers=abs(threads), worker_type=worker_type, periodic=False)
    at_the_gate()
    consumer.run()


def at_the_gate() -> None:
    """Say "ready" (imported, database open), then wait for "go" on stdin: the benchmark
    lets every worker of a drain start at once."""
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()


if __name__ == "__main__":
    # Through the module's own name, not ``__main__``: Huey names a task after the module
    # of its function, and the measuring side enqueues from ``speed_worker``.
    import speed_worker

    speed_worker.serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
