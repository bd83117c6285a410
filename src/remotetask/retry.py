"""When a failed job runs again: policy as data, the decision as a pure function."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries after an unexpected exception (a TaskError is never retried).

    The default is the original's: three retries (four runs), each at once.
    With ``backoff`` the n-th retry waits ``backoff * factor**(n-1)`` seconds,
    capped at ``max_backoff``.
    """

    max_retries: int = 3
    backoff: float = 0.0
    factor: float = 2.0
    max_backoff: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0 or self.factor < 1 or self.max_backoff < 0:
            raise ValueError("max_retries and backoff must be >= 0, factor >= 1, max_backoff >= 0")

    def delay(self, runs: int) -> float | None:
        """Seconds to wait before the next run after ``runs`` failed ones; None to give up."""
        if runs > self.max_retries:
            return None
        if self.backoff == 0:
            return 0.0
        return float(min(self.backoff * self.factor ** (runs - 1), self.max_backoff))
