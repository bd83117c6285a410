"""When a failed job runs again: policy as data, the decision as a pure function."""

from __future__ import annotations

from dataclasses import dataclass

from remotetask.errors import InvalidInputError, TaskError

DEFAULT_MAX_ATTEMPTS = 4


@dataclass(frozen=True, slots=True, init=False)
class RetryPolicy:
    """How often a job may run and how long it waits between runs.

    The default is the original's: four attempts (three retries), each at once.
    With ``backoff`` the n-th retry waits ``backoff * factor**(n-1)`` seconds,
    capped at ``max_backoff``. ``max_retries=n`` is the deprecated spelling of
    ``max_attempts=n + 1``. Every argument is a keyword, so an old positional
    ``RetryPolicy(3)`` fails loudly instead of meaning one run fewer.
    """

    max_attempts: int
    """Runs a job may have in all, the first one included (a lost run counts too)."""
    backoff: float
    factor: float
    max_backoff: float

    def __init__(
        self,
        *,
        max_attempts: int | None = None,
        backoff: float = 0.0,
        factor: float = 2.0,
        max_backoff: float = 3600.0,
        max_retries: int | None = None,
    ) -> None:
        if max_attempts is not None and max_retries is not None:
            raise ValueError("give max_attempts or the deprecated max_retries, not both")
        if max_retries is not None:
            max_attempts = max_retries + 1
        attempts = DEFAULT_MAX_ATTEMPTS if max_attempts is None else max_attempts
        if attempts < 1 or backoff < 0 or factor < 1 or max_backoff < 0:
            raise ValueError(
                "max_attempts must be >= 1, backoff >= 0, factor >= 1, max_backoff >= 0"
            )
        object.__setattr__(self, "max_attempts", attempts)
        object.__setattr__(self, "backoff", float(backoff))
        object.__setattr__(self, "factor", float(factor))
        object.__setattr__(self, "max_backoff", float(max_backoff))

    @property
    def max_retries(self) -> int:
        """Deprecated: ``max_attempts - 1``."""
        return self.max_attempts - 1

    def decide(self, exc: BaseException | None, attempts: int) -> float | None:
        """Seconds to wait before the next run, or None to fail the job now.

        ``exc`` is what the run raised; None when it gave no answer at all (its worker
        vanished or it timed out). ``attempts`` counts the runs so far, this one
        included. A ``TaskError`` is never retried, nor a result that is not JSON.
        """
        if isinstance(exc, TaskError | InvalidInputError) or attempts >= self.max_attempts:
            return None
        if self.backoff == 0:
            return 0.0
        return float(min(self.backoff * self.factor ** (attempts - 1), self.max_backoff))
