"""Per-token rate limits: a token bucket for each caller, so one token cannot starve the rest.

Each token (or, without authentication, each client address) may make
``rate`` requests a second on average and ``burst`` at once; beyond that it
gets 429 with ``Retry-After``. A refused request costs the server almost
nothing, which is what keeps another site's submits fast during a flood.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from remotetask.auth import Principal
from remotetask.web.errors import Problem

MAX_CALLERS = 100_000
"""Buckets kept at most; full ones are dropped first (they carry no information)."""


class RateLimiter:
    """Token buckets by caller; ``rate`` 0 turns the limit off."""

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, 2 * rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait_needed(self, caller: str, cost: float = 1.0) -> float:
        """Take ``cost`` from the caller's bucket; 0.0 if allowed, else seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            level, then = self._buckets.get(caller, (self.burst, now))
            level = min(self.burst, level + (now - then) * self.rate)
            if level >= cost:
                self._buckets[caller] = (level - cost, now)
                return 0.0
            self._buckets[caller] = (level, now)
            if len(self._buckets) > MAX_CALLERS:
                self._forget_full(now)
        return (cost - level) / self.rate

    def check(self, principal: Principal, client: str, cost: float = 1.0) -> None:
        """Raise 429 with Retry-After if the caller is over its rate."""
        caller = client if principal.token_id is None else f"token:{principal.token_id}"
        wait = self.wait_needed(caller, cost)
        if wait > 0:
            raise Problem(
                429,
                f"this token is over its limit of {self.rate:g} requests a second; "
                f"retry in {wait:.2f} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, (level, then) in self._buckets.items()
            if level + (now - then) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
