"""Helpers for users' own tests: an in-memory app, a frozen clock, run until idle.

The original shipped a stub task service for test setups; this is its form
here. Nothing is faked: ``sqlite://`` runs the real store code in memory.

    from remotetask.testing import stub_service
    service = stub_service({"echo": lambda input: input})
    jobid = service.add("echo", 1)
    run_until_idle(service)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from remotetask.app import App
from remotetask.clock import FrozenClock
from remotetask.service import TaskService


def stub_service(
    tasks: Mapping[str, Callable[[Any], Any]],
    ref: str = "test@StubService",
    clock: FrozenClock | None = None,
) -> TaskService:
    """A service on a fresh in-memory database with only the given test tasks."""
    app = App("sqlite://", clock=clock or FrozenClock(0.0))
    for name, func in tasks.items():
        app.register(name, func)
    return app.add_service(ref)


def run_until_idle(service: TaskService, now: float | None = None, limit: int = 10_000) -> int:
    """Process due jobs in this thread until none is left; return how many ran."""
    ran = 0
    while ran < limit and service.process_next(now):
        ran += 1
    if ran == limit:
        raise RuntimeError(f"still busy after {limit} jobs: does a task keep adding jobs?")
    return ran
