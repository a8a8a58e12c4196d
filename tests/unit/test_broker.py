"""Workers sharing one broker in a process (on Dramatiq's in-process stub)."""

from __future__ import annotations

import logging
import threading

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from workers.broker import PoolWorker


def _worker(broker: StubBroker, queue: str) -> PoolWorker:
    # One thread per queue, as the commands pool runs a shard; idle polls short, so stops are.
    return PoolWorker(broker, queues={queue}, worker_threads=1, worker_timeout=100)


def test_workers_sharing_a_broker_leave_no_middleware_behind_and_each_consumes_its_queue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The commands pool runs one worker per shard on one broker: Dramatiq warned once per
    earlier worker at each start (28 times for 8 shards) and kept every worker's middleware."""
    broker = StubBroker()
    seen: dict[str, list[int]] = {}
    done = threading.Semaphore(0)

    def record(queue: str, n: int) -> None:
        seen.setdefault(queue, []).append(n)
        done.release()

    actors = [
        dramatiq.actor(broker=broker, actor_name=f"shard_{i}", queue_name=f"q{i}")(record)
        for i in range(8)
    ]
    middleware = list(broker.middleware)
    caplog.set_level(logging.WARNING, logger="dramatiq")
    workers = [_worker(broker, f"q{i}") for i in range(8)]
    try:
        for worker in workers:
            worker.start()
        # A shard handed back and taken again (a rebalance) starts a new worker for it.
        workers[3].stop(timeout=5000)
        workers[3] = _worker(broker, "q3")
        workers[3].start()
        for i, actor in enumerate(actors):
            actor.send(f"q{i}", i)
        for _ in actors:
            assert done.acquire(timeout=10)
    finally:
        for worker in workers:
            worker.stop(timeout=5000)
    assert not [r for r in caplog.records if "same type twice" in r.getMessage()]
    assert broker.middleware == middleware
    assert seen == {f"q{i}": [i] for i in range(8)}


def test_a_pool_worker_stops_within_its_stop_timeout() -> None:
    worker = PoolWorker(StubBroker(), stop_timeout_s=0.25)
    assert worker.stop_timeout_ms == 250
    assert PoolWorker(StubBroker()).stop_timeout_ms is None  # Dramatiq's default
