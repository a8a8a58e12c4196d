"""The bulk pool: applies recorded bulk operations, sending their items to the commands pool
one command each, or as per-shard slices with ``AGENTQ_BULK_SLICES`` (see
``service.commands.bulk_runner``)."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.broker import Broker

from workers.handlers import Handlers

__all__ = ["BULK_QUEUE", "declare_bulk_actor"]

BULK_QUEUE = "bulk"


def declare_bulk_actor(
    broker: Broker, handlers: Handlers | None = None
) -> dramatiq.Actor[Any, Any]:
    """Running a bulk with ``handlers``' runner. No Dramatiq retries: a redelivered bulk
    resumes where it stopped (its open items sent again; an item applied already is only
    recorded). No time limit: a 10,000-issue bulk takes as long as its commands take."""
    found = handlers or Handlers()

    def run_bulk(bulk_id: str) -> None:
        found.the_runner().run(bulk_id)

    return dramatiq.actor(
        broker=broker,
        actor_name="run_bulk",
        queue_name=BULK_QUEUE,
        max_retries=0,
        time_limit=24 * 3600 * 1000,
    )(run_bulk)
