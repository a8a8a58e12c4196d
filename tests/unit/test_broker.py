"""The broker as built from the settings (no RabbitMQ needed: building one does not connect),
and workers sharing one broker in a process (on Dramatiq's in-process stub)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from service.settings import Settings
from workers.broker import AgentqRabbitmqBroker, PoolWorker, make_broker

URL = "amqp://guest:guest@127.0.0.1:5672/agentq"


def _settings(**overrides: Any) -> Settings:
    return Settings(broker_url=URL, redis_url="redis://127.0.0.1:6379/0", **overrides)


def test_the_publish_timeout_is_one_pika_enforces_on_every_connection() -> None:
    broker = make_broker(_settings(publish_timeout_s=2.5))
    assert isinstance(broker, AgentqRabbitmqBroker)
    assert broker.publish_timeout_s == 2.5
    params = broker.parameters
    assert params.socket_timeout == 2.5  # TCP connect
    assert params.stack_timeout == 2.5  # TCP, then the AMQP handshake
    assert params.blocked_connection_timeout == 2.5  # RabbitMQ's memory or disk alarm
    assert broker.confirm_delivery


def test_the_default_limit_is_five_seconds_and_every_url_of_a_list_gets_it() -> None:
    assert Settings().publish_timeout_s == 5.0
    broker = AgentqRabbitmqBroker(url=f"{URL};{URL.replace('127.0.0.1', 'localhost')}")
    assert [p.stack_timeout for p in broker.parameters] == [5.0, 5.0]
    assert [p.blocked_connection_timeout for p in broker.parameters] == [5.0, 5.0]


@pytest.mark.parametrize("value", ["0", "-1", "61"])
def test_a_publish_timeout_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="publish_timeout_s"):
        _settings(publish_timeout_s=value)


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
