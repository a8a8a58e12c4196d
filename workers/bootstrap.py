"""The one place that builds a process's objects, for every mode, every pool and the tests.

``bootstrap(settings)`` gives a ``Process``: the database engine, the broker with every actor
declared on it, the command bus and the job sender. What the process then does with the
messages it consumes is chosen by asking for it: ``apply_commands`` (the commands pool, or the
embedded API), ``deliver_webhooks``, ``run_bulks``, ``scheduler``. The actors find those in the
process's ``Handlers``, so two processes built in one interpreter (as the tests do) never
share one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dramatiq.broker import Broker
from sqlalchemy.engine import Engine

from service.commands.batches import BatchApplier
from service.commands.bulk_runner import BulkRunner
from service.commands.pipeline import Publish
from service.settings import Settings
from service.store.engine import make_engine
from service.webhooks.delivery import Deliverer
from workers.broker import make_broker
from workers.commands import CommandBus, declare_command_actors
from workers.handlers import Handlers
from workers.jobs import JobSender, declare_job_actors
from workers.scheduler import Scheduler

__all__ = ["Process", "bootstrap"]

log = logging.getLogger("agentq.workers")


@dataclass
class Process:
    """Everything one process (the API, a pool, the scheduler, a test) is built from."""

    settings: Settings
    engine: Engine
    broker: Broker
    bus: CommandBus
    jobs: JobSender
    handlers: Handlers = field(default_factory=Handlers)

    def apply_commands(self, publish: Publish) -> BatchApplier:
        """This process applies the commands it consumes, answering through ``publish``."""
        applier = BatchApplier(
            self.engine,
            publish,
            enqueue=self.bus.publish,
            jobs=self.jobs.send,
            retry=self.settings.retry_policy,
        )
        self.handlers.applier = applier
        return applier

    def deliver_webhooks(self) -> Deliverer:
        """This process relays outbox events and attempts deliveries."""
        deliverer = Deliverer(self.engine, self.settings, self.jobs.hooks.send_delivery)
        self.handlers.deliverer = deliverer
        return deliverer

    def run_bulks(self) -> BulkRunner:
        """This process applies bulk operations: slices sent on their issues' shards (the
        embedded mode's in-process broker declares the same shard queues) with
        ``AGENTQ_BULK_SLICES``, else one command per item."""
        runner = BulkRunner(
            self.engine, self.bus.publish, self.bus.shard_of, slices=self.settings.bulk_slices
        )
        self.handlers.runner = runner
        return runner

    def scheduler(self) -> Scheduler:
        """The lease-expiry and dispatch sweeps (one leader among the processes running it)."""
        return Scheduler(
            self.engine, self.bus.publish, self.settings.sweep_interval_s, jobs=self.jobs.send
        )

    def close(self) -> None:
        if self.handlers.deliverer is not None:
            self.handlers.deliverer.close()
        try:
            self.broker.close()
        except RuntimeError:
            # A worker stop that timed out leaves threads that still open and close channels,
            # and dramatiq iterates its set of them ("Set changed size during iteration").
            # What is left is closed with the process; RabbitMQ requeues what was unacked.
            log.warning("broker connections closed at exit", extra={"action": "broker_close_raced"})
        self.engine.dispose()


def bootstrap(settings: Settings, *, pool_size: int, pre_ping: bool = True) -> Process:
    """The engine (``pool_size`` connections; ``pre_ping``: ``make_engine``'s), the broker
    and every actor on it."""
    engine = make_engine(settings, pool_size=pool_size, pre_ping=pre_ping)
    broker = make_broker(settings)
    handlers = Handlers()
    bus = CommandBus(declare_command_actors(broker, settings.command_shards, handlers))
    jobs = declare_job_actors(broker, handlers)
    return Process(settings, engine, broker, bus, jobs, handlers)
