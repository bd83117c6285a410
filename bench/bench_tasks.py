"""Tasks for the benchmarks' worker processes (``--tasks bench_tasks``, run from bench/)."""

from __future__ import annotations

from remotetask import App


def register(app: App) -> None:
    @app.task
    def noop(_input: object) -> None:
        return None
