"""The bulk pool: applies recorded bulk operations issue by issue (see ``service.bulk``)."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.broker import Broker

from service.bulk import BulkRunner

__all__ = ["BULK_QUEUE", "declare_bulk_actor", "runtime"]

BULK_QUEUE = "bulk"


class _Runtime:
    runner: BulkRunner | None = None


runtime = _Runtime()


def _run_bulk(bulk_id: str) -> None:
    if runtime.runner is None:
        raise RuntimeError("this process does not run bulk operations")
    runtime.runner.run(bulk_id)


def declare_bulk_actor(broker: Broker) -> dramatiq.Actor[Any, Any]:
    """No Dramatiq retries: a redelivered bulk resumes where it stopped (idempotent items).
    No time limit: a 10,000-issue bulk takes as long as its commands take."""
    return dramatiq.actor(
        broker=broker,
        actor_name="run_bulk",
        queue_name=BULK_QUEUE,
        max_retries=0,
        time_limit=24 * 3600 * 1000,
    )(_run_bulk)
