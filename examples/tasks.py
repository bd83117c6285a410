"""Example tasks: run them with

    remotetask worker --app examples.tasks:app --service site1@Converter

and queue work from Python with ``app.service("site1@Converter").add("echo", {...})``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
import time
from typing import Any

import remotetask

app = remotetask.App(os.environ.get("REMOTETASK_DATABASE", "sqlite:///remotetask.db"))


@app.task
def echo(input: Any) -> Any:
    """Return the input unchanged: the original's first example."""
    return input


@app.task(name="sleep", context=True)
def sleep_task(ctx: remotetask.JobContext, input: Any) -> float:
    """Sleep ``input["seconds"]`` seconds, reporting progress and honouring cancellation."""
    seconds = float((input or {}).get("seconds", 1))
    steps = max(1, int(seconds * 10))
    for step in range(steps):
        if ctx.cancelled():
            raise remotetask.TaskError("cancelled while sleeping")
        time.sleep(seconds / steps)
        ctx.report_progress((step + 1) / steps, f"slept {(step + 1) * seconds / steps:.1f}s")
    return seconds


@app.task
def fail(input: Any) -> None:
    """Always fail with a TaskError carrying the input as its message."""
    raise remotetask.TaskError(str(input or "this task always fails"))


@app.task(context=True)
def convert(ctx: remotetask.JobContext, input: dict[str, str]) -> dict[str, str]:
    """Convert a media file with ffmpeg: the seed's motivating case.

    Input: ``{"source": "in.avi", "target": "out.mp4"}``. Fails with a clear
    TaskError when ffmpeg is not installed on this machine or the conversion fails.
    """
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise remotetask.TaskError("ffmpeg is not installed on this worker")
    try:
        source, target = input["source"], input["target"]
    except (TypeError, KeyError):
        raise remotetask.TaskError('input must be {"source": path, "target": path}') from None
    ctx.report_progress(0.0, f"converting {source}")
    done = subprocess.run(
        [ffmpeg, "-nostdin", "-y", "-loglevel", "error", "-i", source, target],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise remotetask.TaskError(f"ffmpeg failed: {done.stderr.strip()[-500:]}")
    ctx.report_progress(1.0, "done")
    return {"target": target}


@dataclasses.dataclass
class Greeting:
    """The input of ``greet``: its JSON Schema is published, bad input is refused on add."""

    name: str
    times: int = 1


@app.task
def greet(input: Greeting) -> list[str]:
    """Greet someone ``times`` times: a typed task (its input is checked when added)."""
    return [f"Hello, {input.name}!"] * input.times


@app.task(context=True, timeout=3600)
async def countdown(ctx: remotetask.JobContext, input: float) -> str:
    """Count ``input`` seconds down with ``await``: an async task, cancelled by a cancel."""
    steps = max(1, int(input * 10))
    for step in range(steps):
        await asyncio.sleep(input / steps)  # a cancel request lands here as CancelledError
        ctx.report_progress((step + 1) / steps, f"{input - (step + 1) * input / steps:.1f}s left")
    return "lift-off"


def register(target: remotetask.App) -> None:
    """Register these tasks on another app (for ``tasks = ["examples.tasks"]``)."""
    for task in app.tasks.values():
        target.register(
            task.name, task.func, context=task.context, retry=task.retry, timeout=task.timeout
        )
