"""Per-token request limits: a fixed window of ``window_s`` seconds, ``limit`` requests each.

In the distributed mode the counts live in Redis (``INCR`` of a key per token and window),
so every API process draws from the same allowance; the embedded mode counts in memory.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aredis

__all__ = ["MemoryRateLimiter", "RateLimiter", "RedisRateLimiter", "Verdict", "make_rate_limiter"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One request's standing: allowed or not, and what the ``RateLimit-*`` headers say."""

    allowed: bool
    limit: int
    remaining: int
    #: Seconds until the window resets (whole seconds, at least 1).
    reset_s: int
    window_s: float

    def headers(self) -> dict[str, str]:
        values = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": f"{self.limit};w={math.ceil(self.window_s)}",
        }
        if not self.allowed:
            values["Retry-After"] = str(self.reset_s)
        return values


class RateLimiter(Protocol):
    async def hit(self, key: str) -> Verdict: ...
    async def close(self) -> None: ...


def _window(now: float, window_s: float) -> tuple[int, int]:
    """The window's number and the whole seconds until it ends."""
    index = int(now // window_s)
    return index, max(1, math.ceil((index + 1) * window_s - now))


def _verdict(count: int, limit: int, reset_s: int, window_s: float) -> Verdict:
    return Verdict(count <= limit, limit, max(0, limit - count), reset_s, window_s)


class MemoryRateLimiter:
    """One process's counts (the embedded mode)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    async def hit(self, key: str) -> Verdict:
        index, reset_s = _window(time.time(), self.window_s)
        with self._lock:
            if len(self._counts) > 10_000:  # old windows: forget them
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= index}
            count = self._counts.get((key, index), 0) + 1
            self._counts[(key, index)] = count
        return _verdict(count, self.limit, reset_s, self.window_s)

    async def close(self) -> None:
        return None


class RedisRateLimiter:
    """Counts shared by every API process: one ``INCR`` (and ``EXPIRE``) per request."""

    def __init__(self, url: str, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._redis = aredis.Redis.from_url(url, socket_timeout=2)

    async def hit(self, key: str) -> Verdict:
        index, reset_s = _window(time.time(), self.window_s)
        name = f"agentq:ratelimit:{key}:{index}"
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, math.ceil(self.window_s) + 1, nx=True)
        count, _ = await pipe.execute()
        return _verdict(int(count), self.limit, reset_s, self.window_s)

    async def close(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(limit: int, window_s: float, redis_url: str | None) -> RateLimiter | None:
    """None when ``limit`` is 0 (no limit)."""
    if limit <= 0:
        return None
    if redis_url:
        return RedisRateLimiter(redis_url, limit, window_s)
    return MemoryRateLimiter(limit, window_s)
