"""Worker processes as the store records them, so operators see who is alive."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A live worker process as recorded in the store, with its latest heartbeat."""

    name: str
    host: str
    pid: int
    services: tuple[str, ...]
    started: float
    last_heartbeat: float
