"""Operations: queue depths and consumers per pool, the scheduler's leader, leases, and the
command wait's p99: read from this process's Prometheus registry, the figures ``/metrics``
serves (the depths are read from the broker at each read, as at a scrape)."""

from __future__ import annotations

import math
from typing import Any

import anyio.to_thread
from litestar import Request, get
from litestar.response import Template
from prometheus_client import REGISTRY

from api.console.render import page
from api.console.session import signed_in_as
from api.services import services
from service.clock import utc_now
from service.reads.console import lease_figures, scheduler_leader
from workers.scheduler import LEADER_KEY

__all__ = ["ROUTES", "quantile"]

Req = Request[Any, Any, Any]

#: The metric families the page shows (names as ``/metrics`` has them, without suffixes).
FAMILIES = {
    "agentq_queue_messages",
    "agentq_queue_dead_letters",
    "agentq_queue_consumers",
    "agentq_command_wait_seconds",
    "agentq_leases_expired",
    "agentq_leases_granted",
    "agentq_commands_accepted",
}


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The ``q`` quantile of a histogram's cumulative ``(upper bound, count)`` buckets, as
    Prometheus's ``histogram_quantile`` estimates it (linear within the bucket)."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower  # past the last finite bucket: its bound, as Prometheus does
            inside = count - below
            return lower + (upper - lower) * ((rank - below) / inside if inside else 0)
        lower, below = upper, count
    return None


def read_figures() -> dict[str, Any]:
    """This process's figures, collected as a scrape collects them."""
    queues: dict[tuple[str, str], dict[str, float]] = {}
    wait: dict[str, list[tuple[float, float]]] = {}
    counters: dict[str, float] = {}
    for family in REGISTRY.collect():
        if family.name not in FAMILIES:
            continue
        for s in family.samples:
            if family.name.startswith("agentq_queue_"):
                key = (s.labels["pool"], s.labels["queue"])
                queues.setdefault(key, {})[family.name.removeprefix("agentq_queue_")] = s.value
            elif s.name == "agentq_command_wait_seconds_bucket":
                wait.setdefault(s.labels["answer"], []).append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_total"):
                counters[family.name] = counters.get(family.name, 0) + s.value
    pools: dict[str, dict[str, float]] = {}
    for (pool, _), figures in queues.items():
        totals = pools.setdefault(pool, {"messages": 0, "dead_letters": 0, "consumers": 0})
        for name, value in figures.items():
            totals[name] = totals.get(name, 0) + value
    merged: dict[float, float] = {}
    for series in wait.values():
        for upper, count in series:
            merged[upper] = merged.get(upper, 0) + count
    return {
        "queues": sorted(queues.items()),
        "pools": sorted(pools.items()),
        "wait_p99": quantile(0.99, list(merged.items())),
        "wait_count": max(merged.values(), default=0),
        "counters": counters,
    }


@get("/ops", include_in_schema=False)
async def show(request: Req) -> Template:
    who = signed_in_as(request)
    svc = services(request)
    figures = await anyio.to_thread.run_sync(read_figures)
    leases = await svc.read(lease_figures, who.company_id, utc_now())
    leader = await svc.read(scheduler_leader, LEADER_KEY)
    return page(
        request,
        "ops.html",
        title="Operations",
        mode="distributed" if svc.settings.distributed else "embedded",
        leases=leases,
        leader=leader,
        **figures,
    )


ROUTES = [show]
