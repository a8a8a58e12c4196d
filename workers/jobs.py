"""Where the command pipeline and the scheduler send pool jobs after a commit."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.broker import Broker

from service.commands.jobs import JobKind
from workers.bulk import declare_bulk_actor
from workers.handlers import Handlers
from workers.webhooks import WebhookActors, declare_webhook_actors

__all__ = ["JobSender", "declare_job_actors"]


class JobSender:
    """``send(kind, ident)``: relays and deliveries to the webhooks pool, bulks to the bulk pool."""

    def __init__(self, hooks: WebhookActors, bulk: dramatiq.Actor[Any, Any]) -> None:
        self.hooks = hooks
        self.bulk = bulk

    def send(self, kind: JobKind, ident: str) -> None:
        if kind is JobKind.BULK:
            self.bulk.send(ident)
        else:
            self.hooks.send(kind, ident)


def declare_job_actors(broker: Broker, handlers: Handlers | None = None) -> JobSender:
    return JobSender(declare_webhook_actors(broker, handlers), declare_bulk_actor(broker, handlers))
