"""The webhooks pool: relay outbox events into deliveries, and attempt deliveries.

No Dramatiq retries and no Dramatiq delays: the next attempt's time lives in PostgreSQL and
the scheduler enqueues it when due (a multi-hour delay must not sit in the broker)."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.broker import Broker

from service.jobs import JobKind
from service.webhooks.delivery import Deliverer

__all__ = ["WEBHOOKS_QUEUE", "WebhookActors", "declare_webhook_actors", "runtime"]

WEBHOOKS_QUEUE = "webhooks"


class _Runtime:
    """The deliverer of this process; set only where the webhooks pool runs."""

    deliverer: Deliverer | None = None


runtime = _Runtime()


def _deliverer() -> Deliverer:
    if runtime.deliverer is None:
        raise RuntimeError("this process does not deliver webhooks")
    return runtime.deliverer


def _relay(event_id: str) -> None:
    _deliverer().relay(event_id)


def _deliver(delivery_id: str) -> None:
    _deliverer().deliver(delivery_id)


class WebhookActors:
    """The two actors, and a ``send(kind, ident)`` the command pipeline calls after commit."""

    def __init__(self, relay: dramatiq.Actor[Any, Any], deliver: dramatiq.Actor[Any, Any]) -> None:
        self.relay = relay
        self.deliver = deliver

    def send(self, kind: JobKind, ident: str) -> None:
        (self.relay if kind is JobKind.RELAY else self.deliver).send(ident)

    def send_delivery(self, delivery_id: str) -> None:
        self.deliver.send(delivery_id)


def declare_webhook_actors(broker: Broker) -> WebhookActors:
    options: dict[str, Any] = {"broker": broker, "queue_name": WEBHOOKS_QUEUE, "max_retries": 0}
    return WebhookActors(
        dramatiq.actor(actor_name="relay_webhook_event", **options)(_relay),
        dramatiq.actor(actor_name="deliver_webhook", **options)(_deliver),
    )
