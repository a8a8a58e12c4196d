"""The webhooks pool: relay outbox events into deliveries, and attempt deliveries.

No Dramatiq retries and no Dramatiq delays: the next attempt's time lives in PostgreSQL and
the scheduler enqueues it when due (a multi-hour delay must not sit in the broker)."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.broker import Broker

from service.commands.jobs import JobKind
from workers.handlers import Handlers

__all__ = ["WEBHOOKS_QUEUE", "WebhookActors", "declare_webhook_actors"]

WEBHOOKS_QUEUE = "webhooks"


class WebhookActors:
    """The two actors, and a ``send(kind, ident)`` the command pipeline calls after commit."""

    def __init__(self, relay: dramatiq.Actor[Any, Any], deliver: dramatiq.Actor[Any, Any]) -> None:
        self.relay = relay
        self.deliver = deliver

    def send(self, kind: JobKind, ident: str) -> None:
        (self.relay if kind is JobKind.RELAY else self.deliver).send(ident)

    def send_delivery(self, delivery_id: str) -> None:
        self.deliver.send(delivery_id)


def declare_webhook_actors(broker: Broker, handlers: Handlers | None = None) -> WebhookActors:
    """Relaying and delivering, with ``handlers``' deliverer."""
    found = handlers or Handlers()

    def relay(event_id: str) -> None:
        found.the_deliverer().relay(event_id)

    def deliver(delivery_id: str) -> None:
        found.the_deliverer().deliver(delivery_id)

    options: dict[str, Any] = {"broker": broker, "queue_name": WEBHOOKS_QUEUE, "max_retries": 0}
    return WebhookActors(
        dramatiq.actor(actor_name="relay_webhook_event", **options)(relay),
        dramatiq.actor(actor_name="deliver_webhook", **options)(deliver),
    )
