"""One call of a task: its typed input in, its JSON result out, sync or async.

``invoke`` is what the runner calls for every job and cron firing. A plain
function runs in the calling worker thread; an ``async def`` task's coroutine is
run by ``asyncrun``, imported only then, so a worker with sync tasks never loads
asyncio (a few MiB of its memory).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from remotetask.tasks import Task

if TYPE_CHECKING:
    from remotetask.asyncrun import Cancellable


def invoke(task: Task, ctx: Cancellable, stored_input: Any) -> str:
    """Run ``task`` on a stored input and return its result as JSON text.

    Whatever the task raises propagates (the runner decides on a retry); a
    cancelled async task raises TaskError, a timed-out one TimeoutError.
    """
    returned = task.run(ctx, task.decode_input(stored_input))
    if inspect.isawaitable(returned):
        from remotetask.asyncrun import run_supervised

        returned = run_supervised(returned, ctx, task.timeout)
    return task.encode_result(returned)
