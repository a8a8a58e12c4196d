"""Spreading the command shards over the running ``worker-commands`` processes.

Each process heartbeats in Redis and owns about ``shards / processes`` shards through Redis
leases (``SET NX`` with a TTL, renewed while it lives). It consumes only the shard queues it
owns: two processes apply commands twice as fast as one, and a process that dies stops
renewing, so its shards are taken over by the others within ``LEASE_S`` plus a tick.

Ownership is for spreading load, not for safety: every shard queue also has RabbitMQ
single-active-consumer, so even two processes that both think they own a shard never apply
its commands side by side (and the issue row lock orders them in any case).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis

from service.ids import new_id

__all__ = ["HEARTBEAT_S", "LEASE_S", "ShardBalancer", "broker_namespace"]

log = logging.getLogger("agentq.shards")

#: How often a process renews its heartbeat and leases, and rebalances, in seconds.
HEARTBEAT_S = 1.0
#: A heartbeat or shard lease not renewed for this long is someone else's to take, in s.
LEASE_S = 5

#: Renew a lease only if it is still ours (compare-and-expire).
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] "
    "then return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] "
    "then return redis.call('del', KEYS[1]) else return 0 end"
)


def broker_namespace(broker_url: str) -> str:
    """``host:port/vhost`` of a broker URL (credentials left out); of its first node's, for a
    ``;``-separated list of a cluster's nodes (every process of a deployment is given the
    same list)."""
    parts = urlsplit(broker_url.split(";", maxsplit=1)[0])
    return f"{parts.hostname}:{parts.port or 5672}{parts.path or '/'}"


class Consumer(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class ShardBalancer:
    """Owns a fair share of ``shards`` and runs a consumer (from ``make``) for each."""

    def __init__(
        self,
        client: redis.Redis,
        shards: int,
        make: Callable[[int], Consumer],
        *,
        namespace: str,
    ) -> None:
        """``namespace`` names the shard queues' broker (host and vhost): the processes of
        one deployment share its shards, another deployment on the same Redis does not."""
        self.redis = client
        self._process = f"agentq:commands:{namespace}:process:"
        self._shard = f"agentq:commands:{namespace}:shard:"
        self.shards = shards
        self.make = make
        self.me = new_id("proc")
        self.owned: dict[int, Consumer] = {}

    def live_processes(self) -> int:
        keys = self.redis.scan_iter(match=self._process + "*", count=100)
        return max(1, len(list(keys)))

    def tick(self) -> None:
        """Heartbeat, keep what is still ours, hand back any excess, take free shards."""
        self.redis.set(self._process + self.me, 1, ex=LEASE_S)
        for shard in list(self.owned):
            if not self.redis.eval(_RENEW, 1, self._shard + str(shard), self.me, LEASE_S):
                log.warning("lost shard %d", shard, extra={"action": "shard_lost"})
                self._drop(shard, release=False)
        fair = math.ceil(self.shards / self.live_processes())
        while len(self.owned) > fair:
            self._drop(max(self.owned), release=True)
        for shard in range(self.shards):
            if len(self.owned) >= fair:
                break
            if shard not in self.owned and self.redis.set(
                self._shard + str(shard), self.me, nx=True, ex=LEASE_S
            ):
                consumer = self.make(shard)
                consumer.start()
                self.owned[shard] = consumer
                log.info("took shard %d", shard, extra={"action": "shard_taken"})

    def _drop(self, shard: int, *, release: bool) -> None:
        # Stop consuming first (an unacked message goes back to the head of its queue),
        # then free the lease for another process.
        self.owned.pop(shard).stop()
        if release:
            self.redis.eval(_RELEASE, 1, self._shard + str(shard), self.me)
            log.info("handed shard %d back", shard, extra={"action": "shard_released"})

    def _let_go(self, shard: int) -> None:
        with contextlib.suppress(redis.RedisError):
            self._drop(shard, release=True)

    def run(self, stop: threading.Event) -> None:
        """Balance every ``HEARTBEAT_S`` until ``stop``; then let every shard go."""
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except redis.RedisError:
                    log.warning("Redis unavailable; keeping the shards held", exc_info=True)
                stop.wait(HEARTBEAT_S)
        finally:
            # All at once: each waits for its in-flight command (up to the consumer's stop
            # timeout), and shutdown should take the longest of those waits, not their sum.
            stopping = [
                threading.Thread(target=self._let_go, args=(shard,)) for shard in list(self.owned)
            ]
            for thread in stopping:
                thread.start()
            for thread in stopping:
                thread.join()
            with contextlib.suppress(redis.RedisError):
                self.redis.delete(self._process + self.me)

    def describe(self) -> dict[str, Any]:
        return {"process": self.me, "shards": sorted(self.owned)}
