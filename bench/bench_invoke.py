"""What one task call costs, without the store: plain, typed, and async (issue 13).

    .venv/bin/python bench/bench_invoke.py [--calls 20000]

Prints microseconds per call of ``remotetask.invoke.invoke`` (decode the input, call,
encode the result) and of ``Task.encode_input`` (what ``add`` does to an input).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from pydantic import BaseModel

from remotetask.invoke import invoke
from remotetask.tasks import Task


class Point(BaseModel):
    x: int
    y: int


class Context:
    def cancelled(self) -> bool:
        return False


def plain(input: object) -> object:
    return input


def typed(input: Point) -> Point:
    return input


async def coroutine(input: object) -> object:
    await asyncio.sleep(0)
    return input


def per_call(calls: int, call: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    calls = parser.parse_args().calls
    value = {"x": 1, "y": 2}
    ctx = Context()
    cases: dict[str, Callable[[], object]] = {}
    for name, func in (("plain", plain), ("typed", typed), ("async", coroutine)):
        task = Task(name, func)
        cases[f"invoke {name}"] = lambda task=task: invoke(task, ctx, value)  # type: ignore[misc]
        cases[f"encode_input {name}"] = lambda task=task: task.encode_input(value)  # type: ignore[misc]
    for name, call in cases.items():
        print(f"{name:22} {per_call(calls, call):8.1f} µs")


if __name__ == "__main__":
    main()
