"""What a process does with the messages its actors receive (``workers.bootstrap``)."""

from __future__ import annotations

from dataclasses import dataclass

from service.commands.batches import BatchApplier
from service.commands.bulk_runner import BulkRunner
from service.webhooks.delivery import Deliverer

__all__ = ["Handlers"]


@dataclass
class Handlers:
    """Set by the process for the pools it runs; a message for another pool is a bug."""

    applier: BatchApplier | None = None
    deliverer: Deliverer | None = None
    runner: BulkRunner | None = None

    def the_applier(self) -> BatchApplier:
        if self.applier is None:
            raise RuntimeError("this process does not apply commands")
        return self.applier

    def the_deliverer(self) -> Deliverer:
        if self.deliverer is None:
            raise RuntimeError("this process does not deliver webhooks")
        return self.deliverer

    def the_runner(self) -> BulkRunner:
        if self.runner is None:
            raise RuntimeError("this process does not run bulk operations")
        return self.runner
