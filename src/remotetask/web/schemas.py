"""Each typed task's input and result JSON Schema, in the OpenAPI document.

A request's ``input`` is any JSON value to FastAPI (the task decides), so the
tasks' own schemas are added to ``components/schemas`` as ``TaskInput.<name>``
and ``TaskResult.<name>`` (models they use as ``TaskModel.<Model>``), and
``x-remotetask-tasks`` maps each task name to its two schemas. The document is
rebuilt only when the registered tasks change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from remotetask.app import App
from remotetask.typed import Codec, Mode, openapi_schemas

COMPONENTS = "#/components/schemas/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def install_task_schemas(api: FastAPI, app: App) -> None:
    """Make ``api.openapi()`` include the schemas of ``app``'s typed tasks."""
    generate: Callable[[], dict[str, Any]] = api.openapi
    built: dict[tuple[str, ...], dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        names = tuple(sorted(app.tasks))
        if names not in built:
            built.clear()
            built[names] = _with_tasks(generate(), app)
        return built[names]

    api.openapi = openapi  # type: ignore[method-assign]


def _with_tasks(document: dict[str, Any], app: App) -> dict[str, Any]:
    described: list[tuple[str, Codec, Mode]] = []
    listed: dict[str, dict[str, Any]] = {}
    for name in sorted(app.tasks):
        task = app.tasks[name]
        sides: tuple[tuple[str, Codec | None, Mode], ...] = (
            ("input", task.input_codec, "validation"),
            ("result", task.result_codec, "serialization"),
        )
        for kind, codec, mode in sides:
            if codec is not None:
                key = f"Task{kind.title()}.{_UNSAFE.sub('_', name)}"
                described.append((key, codec, mode))
                listed.setdefault(name, {})[kind] = {"$ref": COMPONENTS + key}
    schemas, definitions = openapi_schemas(described, "TaskModel.")
    components = dict(document.get("components", {}))
    components["schemas"] = {**components.get("schemas", {}), **definitions, **schemas}
    return {**document, "components": components, "x-remotetask-tasks": listed}
