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
    """RabbitMQ with single-active-consumer on the command shards.

    A shard must be consumed by one process at a time (serial per issue); a second
    worker process stands by and takes over when the first goes away.
    """

    def _build_queue_arguments(self, queue_name: str) -> dict[str, Any]:
        arguments: dict[str, Any] = super()._build_queue_arguments(queue_name)  # type: ignore[no-untyped-call]
        if queue_name.startswith(COMMAND_QUEUE_PREFIX):
            arguments["x-single-active-consumer"] = True
        return arguments


def make_broker(settings: Settings) -> Broker:
    if settings.broker_url:
        return AgentqRabbitmqBroker(url=settings.broker_url, confirm_delivery=True)
    return StubBroker()
