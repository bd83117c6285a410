"""Tasks: named callables a service may run, and the registry that names them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from remotetask.errors import DuplicateTaskError, UnknownTaskError
from remotetask.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class Task:
    """A registered task: ``func(input)``, or ``func(ctx, input)`` when ``context`` is set."""

    name: str
    func: Callable[..., Any]
    context: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None

    def run(self, ctx: object, input: Any) -> Any:
        """Call the task the way it was registered to be called (``ctx``: a JobContext)."""
        if self.context:
            return self.func(ctx, input)
        return self.func(input)

    def __repr__(self) -> str:
        return f"<Task {self.name} {getattr(self.func, '__qualname__', self.func)!r}>"


class TaskRegistry(Mapping[str, Task]):
    """Tasks by name; a second task under a taken name is an error, not a silent swap."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()

    def add(self, task: Task) -> None:
        if not task.name or not task.name.strip():
            raise ValueError("a task needs a non-empty name")
        with self._lock:
            if task.name in self._tasks:
                raise DuplicateTaskError(f"a task named {task.name!r} is already registered")
            self._tasks[task.name] = task

    def require(self, name: str) -> Task:
        """The task, or UnknownTaskError (a ValueError, as the original raised)."""
        task = self._tasks.get(name)
        if task is None:
            raise UnknownTaskError(f"no task named {name!r} is registered")
        return task

    def __getitem__(self, name: str) -> Task:
        return self._tasks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._tasks))

    def __len__(self) -> int:
        return len(self._tasks)
