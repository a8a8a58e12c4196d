"""The distributed rate limit: API processes draw from one allowance kept in Redis."""

from __future__ import annotations

import asyncio

from service.ids import new_id
from service.ratelimit import RedisRateLimiter
from tests.procs import ServiceUrls


def test_two_api_processes_share_one_allowance_per_token(service_urls: ServiceUrls) -> None:
    async def run() -> list[bool]:
        first = RedisRateLimiter(service_urls.redis_url, limit=4, window_s=3600)
        second = RedisRateLimiter(service_urls.redis_url, limit=4, window_s=3600)
        token = new_id("tok")
        try:
            verdicts = [await (first if i % 2 else second).hit(token) for i in range(6)]
            other = await first.hit(new_id("tok"))
        finally:
            await first.close()
            await second.close()
        return [v.allowed for v in verdicts] + [other.allowed]

    assert asyncio.run(run()) == [True, True, True, True, False, False, True]
