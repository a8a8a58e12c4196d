"""Every Prometheus metric agentq defines, in one place: names ``agentq_*``, durations in seconds.

The API serves them at ``/metrics`` on its own port; a worker or scheduler process serves them
on ``AGENTQ_METRICS_PORT`` (``serve_worker_metrics``). Each process exports what it does: the
API its requests, commands accepted, command waits and queue depths (those are read from the
broker at each scrape: ``service.observability.queue_depths``); the commands pool its applied
commands and leases; the webhooks pool its deliveries; the scheduler its sweeps. The embedded
mode does everything in one process, so its ``/metrics`` has all of them.

The request metrics come from Litestar's Prometheus middleware (``api/app.py``, prefix
``agentq``): ``agentq_request_duration_seconds`` (histogram), ``agentq_requests_total``,
``agentq_requests_error_total`` (5xx) and ``agentq_requests_in_progress``, labelled by
``method``, ``path`` (the route template, e.g. ``/v1/companies/{cid}/issues/{iid}``) and
``status_code``.
"""

from __future__ import annotations

import logging

from prometheus_client import (
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

from service.commands.envelope import Outcome

__all__ = [
    "COMMANDS_ACCEPTED",
    "COMMAND_WAIT",
    "LATENCY_BUCKETS",
    "count_command",
    "serve_worker_metrics",
]

log = logging.getLogger("agentq.metrics")

# No ``*_created`` series beside every counter and histogram: they double a scrape for nothing.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Histogram buckets of every duration, in seconds: 1 ms to 60 s (a long-polling claim
#: waits up to 30 s; a webhook receiver has up to 60 s).
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)

# --- API ------------------------------------------------------------------------------------

#: Commands the API published to the broker (count), by command ``type`` (``UpdateIssue``, …).
COMMANDS_ACCEPTED = Counter(
    "agentq_commands_accepted",
    "Commands published by the API, by command type",
    ["type"],
)
#: Seconds from the start of publishing a command to the API's answer, by ``answer``:
#: ``outcome`` (the command's outcome arrived in time) or ``accepted`` (the API answered 202:
#: ``Prefer: respond-async``, or ``AGENTQ_COMMAND_WAIT_MS`` ran out).
COMMAND_WAIT = Histogram(
    "agentq_command_wait_seconds",
    "Seconds from publishing a command to the API's answer (its outcome, or 202)",
    ["answer"],
    buckets=LATENCY_BUCKETS,
)

# --- commands pool ----------------------------------------------------------------------------

#: Commands whose handler ran and succeeded (count), by command ``type``.
COMMANDS_APPLIED = Counter(
    "agentq_commands_applied",
    "Commands applied (the handler ran and succeeded), by command type",
    ["type"],
)
#: Commands whose handler refused them (count), by command ``type`` and HTTP ``status`` of the
#: problem answered (409, 422, …; 500 is a bug, logged with its traceback).
COMMANDS_REJECTED = Counter(
    "agentq_commands_rejected",
    "Commands rejected (the handler refused them), by command type and HTTP status",
    ["type", "status"],
)
#: Commands answered from a stored outcome without running the handler (count), by ``type``:
#: a broker redelivery of a command already applied, or a reused ``Idempotency-Key``.
COMMANDS_REPLAYED = Counter(
    "agentq_commands_replayed",
    "Commands answered from a stored outcome (redelivery, Idempotency-Key reuse), by type",
    ["type"],
)
#: Commands that raised after every in-place retry (count), by ``type``: the broker
#: dead-letters them (lost races past the limit, a database down past the backoff).
COMMANDS_FAILED = Counter(
    "agentq_commands_failed",
    "Commands that raised after their retries (dead-lettered), by command type",
    ["type"],
)
#: Seconds to apply one command (its transaction, retries included; not the outcome's
#: publication), by command ``type``.
COMMAND_APPLY = Histogram(
    "agentq_command_apply_seconds",
    "Seconds to apply one command (transaction and in-place retries), by command type",
    ["type"],
    buckets=LATENCY_BUCKETS,
)
#: Commands a batch held (``AGENTQ_COMMAND_BATCH`` at most), and batches rolled back to be
#: applied one at a time (a race or a statement error in one of their commands).
COMMAND_BATCH_SIZE = Histogram(
    "agentq_command_batch_size",
    "Commands applied together in one transaction (a batch of a shard's waiting commands)",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
COMMAND_BATCHES_FALLEN_BACK = Counter(
    "agentq_command_batches_fallen_back",
    "Batches rolled back and applied one command at a time (a race or a statement error)",
)
#: Leases granted (count): claims that started a run.
LEASES_GRANTED = Counter("agentq_leases_granted", "Leases granted (claims that started a run)")
#: Leases renewed (count): checkpoints applied.
LEASES_RENEWED = Counter("agentq_leases_renewed", "Leases renewed (checkpoints applied)")
#: Leases expired (count): ``ExpireLease`` commands applied (the run ended ``lease_expired``).
LEASES_EXPIRED = Counter("agentq_leases_expired", "Leases expired (ExpireLease applied)")

# --- webhooks pool ----------------------------------------------------------------------------

#: Delivery attempts (count), by ``outcome``: ``succeeded`` (a 2xx), ``retrying`` (failed;
#: another attempt is scheduled), ``failed`` (failed for good: schedule used up, 410 Gone, or
#: the endpoint is disabled).
WEBHOOK_DELIVERIES = Counter(
    "agentq_webhook_deliveries",
    "Webhook delivery attempts, by outcome (succeeded, retrying, failed)",
    ["outcome"],
)
#: Seconds a delivery attempt took, from the address check to the receiver's answer.
WEBHOOK_ATTEMPT = Histogram(
    "agentq_webhook_attempt_seconds",
    "Seconds one webhook delivery attempt took",
    buckets=LATENCY_BUCKETS,
)

# --- scheduler --------------------------------------------------------------------------------

#: Seconds one sweep of the leading scheduler took (expiries, dispatches, webhook jobs).
SWEEP_DURATION = Histogram(
    "agentq_sweep_duration_seconds",
    "Seconds one scheduler sweep took (leader only)",
    buckets=LATENCY_BUCKETS,
)
#: Commands and jobs the sweeps enqueued (count), by ``kind``: ``lease_expiry``,
#: ``dispatch``, ``webhook`` (an outbox relay or a due delivery attempt).
SWEEP_ENQUEUED = Counter(
    "agentq_sweep_enqueued",
    "Commands and jobs enqueued by scheduler sweeps, by kind",
    ["kind"],
)
#: Sweeps that raised (count); the scheduler tries again next interval.
SWEEP_FAILURES = Counter("agentq_sweep_failures", "Scheduler sweeps that raised")

#: Command type -> the lease counter its success increments.
_LEASE_EVENTS = {
    "ClaimWork": LEASES_GRANTED,
    "RecordCheckpoint": LEASES_RENEWED,
    "ExpireLease": LEASES_EXPIRED,
}


def count_command(command_type: str, outcome: Outcome, seconds: float, *, replayed: bool) -> None:
    """Count one command's outcome (``Applier.apply``), and the lease event it made."""
    COMMAND_APPLY.labels(command_type).observe(seconds)
    if replayed:
        COMMANDS_REPLAYED.labels(command_type).inc()
    elif not outcome.applied:
        COMMANDS_REJECTED.labels(command_type, str(outcome.http_status)).inc()
    else:
        COMMANDS_APPLIED.labels(command_type).inc()
        lease_event = _LEASE_EVENTS.get(command_type)
        # A claim that found no work answers 204 and grants nothing.
        if lease_event is not None and outcome.http_status != 204:
            lease_event.inc()


def serve_worker_metrics(port: int | None, host: str = "127.0.0.1") -> None:
    """Serve this process's metrics at ``http://host:port/metrics`` (a daemon thread) when
    ``port`` is set (``AGENTQ_METRICS_PORT``); do nothing when it is None."""
    if port is None:
        return
    start_http_server(port, addr=host)
    log.info(
        "metrics on http://%s:%d/metrics",
        host,
        port,
        extra={"action": "metrics_serving", "port": port},
    )
