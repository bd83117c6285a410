"""How services process jobs: the processors and ``Settings``, plain data with defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from remotetask.jobs import CANCELLED, COMPLETED, ERROR, Status

DAY = 86400.0
DEFAULT_RETENTION: Mapping[Status, float | None] = {
    COMPLETED: 7 * DAY,
    CANCELLED: 7 * DAY,
    ERROR: 30 * DAY,
}


@dataclass(frozen=True, slots=True)
class SimpleProcessor:
    """One job at a time, in the order the jobs were added (the original's default)."""

    @property
    def max_threads(self) -> int:
        return 1


@dataclass(frozen=True, slots=True)
class MultiProcessor:
    """Up to ``max_threads`` jobs at once."""

    max_threads: int = 5

    def __post_init__(self) -> None:
        if self.max_threads < 1:
            raise ValueError("max_threads must be at least 1")


ProcessorKind = SimpleProcessor | MultiProcessor


@dataclass(frozen=True, slots=True)
class Settings:
    """How services process jobs; one object instead of many keyword arguments."""

    processor: ProcessorKind = field(default_factory=SimpleProcessor)
    wait_time: float = 1.0
    """Longest idle sleep between polls (an ``add`` in this process wakes it at once)."""
    lease_seconds: float = 30.0
    """A running job's lease; a worker that stops renewing it loses the job after this."""
    shutdown_grace: float = 30.0
    """How long a stopping service lets running jobs finish before giving them back."""
    auto_migrate: bool | None = None
    """Upgrade the schema on open: default True for SQLite, False for PostgreSQL."""
    retention: Mapping[Status, float | None] = field(
        default_factory=lambda: dict(DEFAULT_RETENTION)
    )
    """Seconds finished jobs are kept, per status (None keeps them); pruned once a minute."""
    prune_batch: int = 1000
    """Jobs deleted per transaction when pruning."""
