"""``python -m workers commands``: run a Dramatiq pool as its own process (distributed mode)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

import redis
from dramatiq import Worker

from service.bulk import BulkRunner
from service.db.engine import make_engine
from service.logs import configure_logging
from service.metrics import serve_worker_metrics
from service.pipeline import Applier
from service.results import RedisResultPublisher
from service.settings import get_settings
from service.webhooks.delivery import Deliverer
from workers.broker import PoolWorker, make_broker
from workers.bulk import BULK_QUEUE
from workers.bulk import runtime as bulk_runtime
from workers.commands import CommandBus, declare_command_actors, queue_name, runtime
from workers.jobs import declare_job_actors
from workers.scheduler import Scheduler
from workers.shards import ShardBalancer, broker_namespace
from workers.webhooks import WEBHOOKS_QUEUE
from workers.webhooks import runtime as webhook_runtime

log = logging.getLogger("agentq.workers")


def run_commands_pool() -> None:
    """Apply commands from the shard queues this process owns, one message per shard at a
    time (prefetch 1, ack after commit). Running processes share the shards between them
    (``workers.shards``); each shard queue also has single-active-consumer."""
    settings = get_settings()
    if not settings.distributed or not settings.redis_url:
        raise SystemExit(
            "the commands pool runs in distributed mode: set AGENTQ_BROKER_URL and AGENTQ_REDIS_URL"
        )
    engine = make_engine(settings, pool_size=settings.command_shards)
    broker = make_broker(settings)
    bus = CommandBus(declare_command_actors(broker, settings.command_shards))
    jobs = declare_job_actors(broker)
    runtime.applier = Applier(
        engine, RedisResultPublisher(settings.redis_url), enqueue=bus.publish, jobs=jobs.send
    )

    def shard_worker(shard: int) -> Worker:
        worker = PoolWorker(
            broker,
            queues={queue_name(shard)},
            worker_threads=1,
            stop_timeout_s=settings.stop_timeout_s,
        )
        # One unacked message per shard: the next command of a shard is not even fetched
        # before the previous one is committed and acked.
        worker.queue_prefetch = 1
        return worker

    balancer = ShardBalancer(
        redis.Redis.from_url(settings.redis_url, socket_timeout=5),
        settings.command_shards,
        shard_worker,
        namespace=broker_namespace(settings.broker_url or ""),
    )
    stop = _stop_on_signals()
    log.info("agentq commands pool started", extra={"action": "pool_started"})
    balancer.run(stop)
    log.info("agentq commands pool stopped", extra={"action": "pool_stopped"})
    broker.close()
    engine.dispose()


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def run_scheduler() -> None:
    """Sweep lease expiries and dispatches every ``AGENTQ_SWEEP_INTERVAL_S``; of several
    scheduler processes only the PostgreSQL advisory-lock holder sweeps."""
    settings = get_settings()
    if not settings.distributed:
        raise SystemExit("the scheduler process runs in distributed mode: set AGENTQ_BROKER_URL")
    engine = make_engine(settings, pool_size=2)
    broker = make_broker(settings)
    bus = CommandBus(declare_command_actors(broker, settings.command_shards))
    jobs = declare_job_actors(broker)
    scheduler = Scheduler(engine, bus.publish, settings.sweep_interval_s, jobs=jobs.send)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("agentq scheduler started", extra={"action": "scheduler_started"})
    scheduler.run(stop)
    broker.close()
    engine.dispose()


def run_webhooks_pool() -> None:
    """Relay outbox events and attempt deliveries, ``AGENTQ_WEBHOOK_THREADS`` at a time."""
    settings = get_settings()
    if not settings.distributed:
        raise SystemExit("the webhooks pool runs in distributed mode: set AGENTQ_BROKER_URL")
    engine = make_engine(settings, pool_size=min(settings.webhook_threads, 20))
    broker = make_broker(settings)
    declare_command_actors(broker, settings.command_shards)
    jobs = declare_job_actors(broker)
    webhook_runtime.deliverer = Deliverer(engine, settings, jobs.hooks.send_delivery)
    worker = PoolWorker(
        broker,
        queues={WEBHOOKS_QUEUE},
        worker_threads=settings.webhook_threads,
        stop_timeout_s=settings.stop_timeout_s,
    )
    _run_until_signalled(worker, "webhooks")
    webhook_runtime.deliverer.close()
    engine.dispose()


def run_bulk_pool() -> None:
    """Apply bulk operations: each one publishes its per-issue commands a chunk at a time."""
    settings = get_settings()
    if not settings.distributed:
        raise SystemExit("the bulk pool runs in distributed mode: set AGENTQ_BROKER_URL")
    engine = make_engine(settings, pool_size=4)
    broker = make_broker(settings)
    bus = CommandBus(declare_command_actors(broker, settings.command_shards))
    declare_job_actors(broker)
    bulk_runtime.runner = BulkRunner(engine, bus.publish)
    worker = PoolWorker(
        broker, queues={BULK_QUEUE}, worker_threads=2, stop_timeout_s=settings.stop_timeout_s
    )
    _run_until_signalled(worker, "bulk")
    engine.dispose()


def _run_until_signalled(worker: Worker, pool: str) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    log.info("agentq %s pool started", pool, extra={"action": "pool_started"})
    stop.wait()
    log.info("agentq %s pool stopping", pool, extra={"action": "pool_stopping"})
    worker.stop()
    try:
        worker.broker.close()
    except RuntimeError:
        # A stop that timed out leaves threads that still open and close channels, and
        # dramatiq iterates its set of them ("Set changed size during iteration"). What is
        # left is closed with the process; RabbitMQ requeues whatever was unacked.
        log.warning("broker connections closed at exit", extra={"action": "broker_close_raced"})


POOLS = {
    "commands": run_commands_pool,
    "webhooks": run_webhooks_pool,
    "bulk": run_bulk_pool,
    "scheduler": run_scheduler,
}


def run_pool(name: str) -> None:
    """Run one pool (or the scheduler) until SIGTERM/SIGINT."""
    settings = get_settings()
    configure_logging(settings)
    serve_worker_metrics(settings.metrics_port, settings.host)  # only if a port is set
    POOLS[name]()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers")
    parser.add_argument("pool", choices=sorted(POOLS))
    run_pool(parser.parse_args().pool)


if __name__ == "__main__":
    main()
