"""How a worker runs a Django task: the remotetask task function registered for it.

The job's input carries the call's ``args`` and ``kwargs``. Around the call the
function sends Django's ``task_started`` and ``task_finished`` signals (finished
only when no retry follows), hands a ``TaskContext`` to tasks that take one,
and, for a plain function, closes Django's database connections that are
unusable or past ``CONN_MAX_AGE`` before and after it, as a request would. An
``async def`` task gets an ``async def`` task function, so remotetask runs it
on an event loop (see ``remotetask.asyncrun``).
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable
from inspect import iscoroutinefunction
from typing import Any

from django.db import close_old_connections
from django.utils import timezone

from remotetask.contrib.django.framework import (
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultStatus,
    task_finished,
    task_started,
)
from remotetask.contrib.django.results import raised, task_result
from remotetask.retry import RetryPolicy
from remotetask.service import JobContext


def task_function(task: Task[Any, Any], alias: str, retry: RetryPolicy) -> Callable[..., Any]:
    """The context task remotetask registers for ``task`` (``django_func`` names the original)."""

    def run(ctx: JobContext, input: Any) -> Any:
        call = _Call(task, alias, retry, ctx, input)
        close_old_connections()
        try:
            return call.ended(task.func(*call.args, **call.kwargs))
        except Exception as exc:
            call.failed(exc)
            raise
        finally:
            close_old_connections()

    async def run_async(ctx: JobContext, input: Any) -> Any:
        call = _Call(task, alias, retry, ctx, input)
        try:
            return call.ended(await task.func(*call.args, **call.kwargs))
        except Exception as exc:
            call.failed(exc)
            raise

    chosen: Callable[..., Any] = run_async if iscoroutinefunction(task.func) else run
    chosen.__dict__["django_func"] = task.func  # not __wrapped__: its signature is not ours
    chosen.__doc__ = task.func.__doc__
    return chosen


class _Call:
    """One run of a Django task: its arguments, its ``TaskResult``, its signals."""

    def __init__(
        self,
        task: Task[Any, Any],
        alias: str,
        retry: RetryPolicy,
        ctx: JobContext,
        input: dict[str, Any],
    ) -> None:
        self.result = task_result(task, ctx.service.job(ctx.job_id), alias)
        self.retry = retry
        self.attempts = ctx.attempts
        context = [TaskContext(task_result=self.result)] if task.takes_context else []
        self.args = [*context, *input.get("args", [])]
        self.kwargs: dict[str, Any] = input.get("kwargs", {})
        task_started.send(type(task.get_backend()), task_result=self.result)

    def ended(self, value: Any) -> Any:
        done = self._finished(TaskResultStatus.SUCCESSFUL, self.result.errors)
        object.__setattr__(done, "_return_value", value)
        task_finished.send(type(done.task.get_backend()), task_result=done)
        return value

    def failed(self, exc: Exception) -> None:
        """Send ``task_finished`` if this failure ends the job (no retry follows)."""
        if self.retry.decide(exc, self.attempts) is not None:
            return
        trace = traceback.format_exc()
        error = TaskError(exception_class_path=raised(trace), traceback=trace)
        done = self._finished(TaskResultStatus.FAILED, [error])
        task_finished.send(type(done.task.get_backend()), task_result=done)

    def _finished(self, status: Any, errors: list[TaskError]) -> TaskResult[Any]:
        return dataclasses.replace(
            self.result, status=status, finished_at=timezone.now(), errors=errors
        )
