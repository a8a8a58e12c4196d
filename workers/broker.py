"""The Dramatiq broker: RabbitMQ (publisher confirms, durable) or, embedded, the in-process stub;
and the Dramatiq worker every pool runs on it."""

from __future__ import annotations

from typing import Any

from dramatiq import Worker
from dramatiq.broker import Broker
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker

from service.settings import Settings

__all__ = ["COMMAND_QUEUE_PREFIX", "AgentqRabbitmqBroker", "PoolWorker", "make_broker"]

COMMAND_QUEUE_PREFIX = "commands."


class AgentqRabbitmqBroker(RabbitmqBroker):
    """RabbitMQ with single-active-consumer on the command shards, and optionally quorum
    queues (replicated across a RabbitMQ cluster).

    A shard must be consumed by one process at a time (serial per issue): even if two
    processes subscribe to it, only one receives its messages.
    """

    def __init__(self, *, quorum: bool = False, **kwargs: Any) -> None:
        self.quorum = quorum
        super().__init__(**kwargs)

    def _build_queue_arguments(self, queue_name: str) -> dict[str, Any]:
        arguments: dict[str, Any] = super()._build_queue_arguments(queue_name)  # type: ignore[no-untyped-call]
        if queue_name.startswith(COMMAND_QUEUE_PREFIX):
            arguments["x-single-active-consumer"] = True
        if self.quorum:
            # A queue's type is fixed when it is first declared: switch on a fresh vhost.
            arguments["x-queue-type"] = "quorum"
        return arguments


class PoolWorker(Worker):
    """A Dramatiq worker that can share its broker with other workers of the process, and
    whose stop waits at most ``stop_timeout_s`` for its in-flight messages.

    Dramatiq's ``Worker.start`` adds a middleware to the broker that starts a consumer for
    each queue declared (now and later), and never removes it. The commands pool runs one
    worker per shard it owns on one broker, so each start left one more behind: Dramatiq
    warned "adding a middleware of the same type twice" once per earlier one (0 + 1 + … + 7
    = 28 warnings for 8 shards), and every shard taken again after a rebalance added one
    more, holding on to a stopped worker. Every queue is declared (with its actor) before
    any worker starts, so once started the middleware has nothing left to do: it is taken
    out again.

    A message still running when the stop times out (a command waiting for an unreachable
    database, a long bulk) is given back: the connection closes unacked and RabbitMQ
    returns it to the head of its queue, for this pool's next process.
    """

    def __init__(self, broker: Broker, *, stop_timeout_s: float | None = None, **kwargs: Any):
        super().__init__(broker, **kwargs)
        self.stop_timeout_ms = None if stop_timeout_s is None else int(stop_timeout_s * 1000)

    def start(self) -> None:
        super().start()
        # A new list, not an edit in place: other workers' threads may be iterating it.
        self.broker.middleware = [
            m for m in self.broker.middleware if getattr(m, "worker", None) is not self
        ]

    def stop(self, timeout: int | None = None) -> None:
        timeout = self.stop_timeout_ms if timeout is None else timeout
        if timeout is None:
            super().stop()  # Dramatiq's default wait
        else:
            super().stop(timeout)


def make_broker(settings: Settings) -> Broker:
    if settings.broker_url:
        return AgentqRabbitmqBroker(
            url=settings.broker_url, confirm_delivery=True, quorum=settings.quorum_queues
        )
    return StubBroker()
