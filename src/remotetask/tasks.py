"""Tasks: named callables a service may run, and the registry that names them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from remotetask import jsonvalue
from remotetask.errors import DuplicateTaskError, UnknownTaskError
from remotetask.retry import RetryPolicy
from remotetask.typed import Codec, codecs


@dataclass(frozen=True, slots=True)
class Task:
    """A registered task: ``func(input)``, or ``func(ctx, input)`` when ``context`` is set.

    ``func`` may be an ``async def``. An annotated input parameter or return value
    makes the task typed (see ``remotetask.typed``): its input is checked when a
    job is added, and the task receives the typed object.
    """

    name: str
    func: Callable[..., Any]
    context: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None
    input_codec: Codec | None = field(init=False, default=None, repr=False, compare=False)
    result_codec: Codec | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        given, returned = codecs(self.func, self.context, self.name)
        object.__setattr__(self, "input_codec", given)
        object.__setattr__(self, "result_codec", returned)

    @property
    def input_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the input (None: any JSON value), e.g. to build a form."""
        return None if self.input_codec is None else self.input_codec.input_schema

    @property
    def result_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the result (None: any JSON value)."""
        return None if self.result_codec is None else self.result_codec.output_schema

    def encode_input(self, value: Any) -> str:
        """The JSON to store for ``value``, checked against the input's type if it has one.

        Raises InvalidInputError (with ``errors`` for a typed input) before anything
        is stored. A typed input is stored as its type encodes it, defaults filled in.
        """
        if self.input_codec is None:
            return jsonvalue.dumps(value)
        return self.input_codec.encode(self.input_codec.validate(value))

    def decode_input(self, stored: Any) -> Any:
        """What the task receives for a stored input: the typed object, or the JSON value."""
        if self.input_codec is None:
            return stored
        return self.input_codec.decode(jsonvalue.dumps(stored))

    def encode_result(self, value: Any) -> str:
        """The JSON to store for a result, checked against the result's type if it has one."""
        if self.result_codec is None:
            return jsonvalue.dumps(value, "result")
        return self.result_codec.encode(value)

    def run(self, ctx: object, input: Any) -> Any:
        """Call the task the way it was registered to be called (``ctx``: a JobContext).

        For an ``async def`` task this returns the coroutine; ``invoke`` runs it.
        """
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
