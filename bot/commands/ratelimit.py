"""Token buckets that keep one user, or one busy channel, from flooding the bot with commands."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBuckets:
    """One bucket per key: ``burst`` tokens, refilled at ``per_minute``. ``take`` answers whether a
    command may run now, and otherwise how many seconds until it may. Buckets that refilled completely
    are forgotten, so memory stays bounded by the number of recently active keys."""

    def __init__(self, *, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def wait_time(self, key: str) -> float:
        """Seconds until ``key`` has a token (0 when it has one now); takes nothing."""
        level = self._level(key, self.clock())
        return 0.0 if level >= 1.0 else (1.0 - level) / self.rate

    def take(self, key: str) -> float:
        """Take a token: 0.0 when granted, else the seconds to wait (nothing taken)."""
        now = self.clock()
        level = self._level(key, now)
        if level < 1.0:
            return (1.0 - level) / self.rate
        self._buckets[key] = (level - 1.0, now)
        if len(self._buckets) > 10_000:
            self._forget_full(now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        for k in [k for k in self._buckets if self._level(k, now) >= self.burst]:
            del self._buckets[k]
