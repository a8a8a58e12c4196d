"""The per-token request limit (``service.ratelimit``): a fixed window, counted in memory."""

from __future__ import annotations

import asyncio

from service.ratelimit import MemoryRateLimiter, Verdict, make_rate_limiter


def _hits(limiter: MemoryRateLimiter, key: str, n: int) -> list[Verdict]:
    async def run() -> list[Verdict]:
        return [await limiter.hit(key) for _ in range(n)]

    return asyncio.run(run())


def test_a_token_gets_its_limit_and_then_is_refused_with_when_to_retry() -> None:
    verdicts = _hits(MemoryRateLimiter(limit=3, window_s=3600), "tok_a", 5)
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0, 0]
    refused = verdicts[3].headers()
    assert refused["RateLimit-Limit"] == "3" and refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Policy"] == "3;w=3600"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert refused["Retry-After"] == refused["RateLimit-Reset"]
    assert "Retry-After" not in verdicts[0].headers()


def test_each_token_has_its_own_allowance() -> None:
    limiter = MemoryRateLimiter(limit=1, window_s=3600)
    assert _hits(limiter, "tok_a", 1)[0].allowed
    assert _hits(limiter, "tok_b", 1)[0].allowed
    assert not _hits(limiter, "tok_a", 1)[0].allowed


def test_a_new_window_starts_afresh() -> None:
    limiter = MemoryRateLimiter(limit=1, window_s=0.2)
    assert _hits(limiter, "tok_a", 1)[0].allowed

    async def later() -> Verdict:
        await asyncio.sleep(0.25)
        return await limiter.hit("tok_a")

    assert asyncio.run(later()).allowed


def test_a_limit_of_zero_means_no_limiter() -> None:
    assert make_rate_limiter(0, 10, None) is None
    assert isinstance(make_rate_limiter(5, 10, None), MemoryRateLimiter)
