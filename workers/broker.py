"""The Dramatiq broker: RabbitMQ (publisher confirms, durable) or, embedded, the in-process stub."""

from __future__ import annotations

from typing import Any

from dramatiq.broker import Broker
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker

from service.settings import Settings

__all__ = ["COMMAND_QUEUE_PREFIX", "AgentqRabbitmqBroker", "make_broker"]

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


def make_broker(settings: Settings) -> Broker:
    if settings.broker_url:
        return AgentqRabbitmqBroker(
            url=settings.broker_url, confirm_delivery=True, quorum=settings.quorum_queues
        )
    return StubBroker()
