"""``python -m workers commands``: run a Dramatiq pool as its own process (distributed mode)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

import redis
from dramatiq import Worker

from service.commands.replies import RedisResultPublisher
from service.observability.logs import configure_logging
from service.observability.metrics import serve_worker_metrics
from service.settings import Settings, get_settings
from workers.bootstrap import bootstrap
from workers.broker import PoolWorker
from workers.bulk import BULK_QUEUE
from workers.command_consumer import BatchConsumer
from workers.commands import queue_name
from workers.shards import Consumer, ShardBalancer, broker_namespace
from workers.webhooks import WEBHOOKS_QUEUE

log = logging.getLogger("agentq.workers")


def run_commands_pool() -> None:
    """Apply commands from the shard queues this process owns: the waiting messages of a
    shard, up to ``AGENTQ_COMMAND_BATCH``, in one transaction, acked after the commit
    (``workers.command_consumer``); with a batch of 1, one message per shard at a time on
    Dramatiq's worker (prefetch 1, ack after commit). Running processes share the shards
    between them (``workers.shards``); each shard queue also has single-active-consumer."""
    settings = get_settings()
    if not settings.distributed or not settings.redis_url:
        raise SystemExit(
            "the commands pool runs in distributed mode: set AGENTQ_BROKER_URL and AGENTQ_REDIS_URL"
        )
    # No pre-ping: the applier retries a command that met a dropped connection.
    proc = bootstrap(settings, pool_size=settings.command_shards, pre_ping=False)
    applier = proc.apply_commands(RedisResultPublisher(settings.redis_url))

    def shard_consumer(shard: int) -> Consumer:
        if settings.command_batch > 1:
            return BatchConsumer(
                proc.broker,
                queue_name(shard),
                applier.apply_batch,
                batch=settings.command_batch,
                stop_timeout_s=settings.stop_timeout_s,
            )
        worker = PoolWorker(
            proc.broker,
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
        shard_consumer,
        namespace=broker_namespace(settings.broker_url or ""),
    )
    stop = _stop_on_signals()
    log.info("agentq commands pool started", extra={"action": "pool_started"})
    balancer.run(stop)
    log.info("agentq commands pool stopped", extra={"action": "pool_stopped"})
    proc.close()


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _distributed(pool: str) -> Settings:
    settings = get_settings()
    if not settings.distributed:
        raise SystemExit(f"the {pool} runs in distributed mode: set AGENTQ_BROKER_URL")
    return settings


def run_scheduler() -> None:
    """Sweep lease expiries and dispatches every ``AGENTQ_SWEEP_INTERVAL_S``; of several
    scheduler processes only the PostgreSQL advisory-lock holder sweeps."""
    proc = bootstrap(_distributed("scheduler process"), pool_size=2)
    scheduler = proc.scheduler()
    stop = _stop_on_signals()
    log.info("agentq scheduler started", extra={"action": "scheduler_started"})
    scheduler.run(stop)
    proc.close()


def run_webhooks_pool() -> None:
    """Relay outbox events and attempt deliveries, ``AGENTQ_WEBHOOK_THREADS`` at a time."""
    settings = _distributed("webhooks pool")
    proc = bootstrap(settings, pool_size=min(settings.webhook_threads, 20))
    proc.deliver_webhooks()
    worker = PoolWorker(
        proc.broker,
        queues={WEBHOOKS_QUEUE},
        worker_threads=settings.webhook_threads,
        stop_timeout_s=settings.stop_timeout_s,
    )
    _run_until_signalled(worker, "webhooks")
    proc.close()


def run_bulk_pool() -> None:
    """Apply bulk operations: each one publishes its per-issue commands a chunk at a time."""
    settings = _distributed("bulk pool")
    proc = bootstrap(settings, pool_size=4)
    proc.run_bulks()
    worker = PoolWorker(
        proc.broker, queues={BULK_QUEUE}, worker_threads=2, stop_timeout_s=settings.stop_timeout_s
    )
    _run_until_signalled(worker, "bulk")
    proc.close()


def _run_until_signalled(worker: Worker, pool: str) -> None:
    stop = _stop_on_signals()
    worker.start()
    log.info("agentq %s pool started", pool, extra={"action": "pool_started"})
    stop.wait()
    log.info("agentq %s pool stopping", pool, extra={"action": "pool_stopping"})
    worker.stop()


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
