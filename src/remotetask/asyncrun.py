"""An ``async def`` task's coroutine, run to its end for ``invoke``.

It runs on an event loop of its own, made for this run in the worker thread that
claimed the job and closed after it, so one worker thread runs one async job at a
time, as it does a sync one. While the coroutine runs, a watcher asks every
``CANCEL_POLL_SECONDS`` whether the job was cancelled and, if so, cancels the
coroutine; the task's ``timeout`` cancels it too (``asyncio.timeout``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from remotetask.errors import StoreError, TaskError

CANCEL_POLL_SECONDS = 0.25
"""How often a running async task's job is checked for a cancel request."""
CANCELLED_MESSAGE = "cancelled while running"


class Cancellable(Protocol):
    """What a run needs of a JobContext: whether someone asked to cancel the job."""

    def cancelled(self) -> bool: ...


def run_supervised(work: Awaitable[Any], ctx: Cancellable, timeout: float | None) -> Any:
    """``work``'s result, cancelled on a cancel request of its job or at ``timeout``."""
    return _run_on_own_loop(_supervised(work, ctx, timeout))


def _run_on_own_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run to the end on a new event loop; in a helper thread if this one already has a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1, thread_name_prefix="remotetask-async") as helper:
        return helper.submit(asyncio.run, coroutine).result()


async def _supervised(work: Awaitable[Any], ctx: Cancellable, timeout: float | None) -> Any:
    """Await the task's coroutine, cancelling it on a cancel request or at its timeout."""
    this = asyncio.current_task()
    assert this is not None
    asked = asyncio.Event()
    watcher = asyncio.create_task(_watch(ctx, this, asked))
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            return await work
    except TimeoutError:
        if deadline.expired():
            raise TimeoutError(f"timed out after {timeout:g} s") from None
        raise
    except asyncio.CancelledError:
        if asked.is_set():
            this.uncancel()
            raise TaskError(CANCELLED_MESSAGE) from None
        raise
    finally:
        watcher.cancel()


async def _watch(ctx: Cancellable, work: asyncio.Task[Any], asked: asyncio.Event) -> None:
    """Cancel ``work`` once its job is asked to stop (a store hiccup only delays the check)."""
    while True:
        await asyncio.sleep(CANCEL_POLL_SECONDS)
        try:
            cancelled = ctx.cancelled()
        except StoreError:
            continue
        if cancelled:
            asked.set()
            work.cancel()
            return
