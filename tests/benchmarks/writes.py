"""Writes: sync transitions end to end beside the same commands straight through the
``Applier``, and create latency at half the maximum rate beside a direct insert."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any

from domain import commands as c
from service.commands.envelope import Envelope
from service.commands.pipeline import Applier
from service.ids import new_id
from tests.benchmarks.loadgen import Client, CpuMeter, percentile
from tests.benchmarks.stack import (
    CONCURRENCY,
    ROUNDS,
    SERVICES,
    Bench,
    Figures,
    scaled,
    seconds,
)


async def _e2e_transitions(
    bench: Bench, agent_id: str, duration_s: float
) -> tuple[float, int, int]:
    """Each worker drives issues through create → PATCH → assign → cancel (4 transitions):
    (transitions per second, errors, transitions)."""
    done = errors = 0
    deadline = time.perf_counter() + duration_s
    p = bench.prefix

    async def worker() -> None:
        nonlocal done, errors
        client = bench.client()
        try:
            while time.perf_counter() < deadline:
                r = await client.request("POST", f"{p}/issues", {"title": "bench"})
                if r.status != 201:
                    errors += 1
                    continue
                iid = r.json()["id"]
                for method, path, body in (
                    ("PATCH", f"{p}/issues/{iid}", {"title": "bench, edited"}),
                    ("POST", f"{p}/issues/{iid}/assign", {"agentId": agent_id}),
                    ("POST", f"{p}/issues/{iid}/cancel", {"reason": "bench"}),
                ):
                    r2 = await client.request(method, path, body)
                    errors += r2.status >= 300
                done += 4
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started), errors, done


def _direct_transitions(
    applier: Applier, company_id: str, agent_id: str, duration_s: float
) -> float:
    """The same commands applied by threads straight through the pipeline's ``Applier``."""
    done = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + duration_s

    def env(command: Any, status: int = 200) -> Envelope:
        return Envelope(new_id("cmd"), company_id, "user:bench", command, success_status=status)

    def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            iid = new_id("iss")
            applier.apply(env(c.CreateIssue(iid, "bench"), 201))
            applier.apply(env(c.UpdateIssue(iid, frozenset({"title"}), title="bench, edited")))
            applier.apply(env(c.AssignIssue(iid, agent_id)))
            applier.apply(env(c.CancelIssue(iid, "bench")))
            with lock:
                done += 4

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done / (time.perf_counter() - started)


def transitions(bench: Bench, applier: Applier, cpu: CpuMeter) -> Figures:
    agent = bench.ok("POST", "/agents", {"name": "bench-assignee", "capacity": 1000})
    duration = seconds(10)
    e2e, direct, errors, done = [], [], 0, 0
    spent = dict.fromkeys(bench.process_cpu(), 0.0)
    for _ in range(ROUNDS):  # interleaved: both meet the same noise
        before = bench.process_cpu()
        cpu.start()
        rate, failed, count = asyncio.run(_e2e_transitions(bench, agent["id"], duration))
        cpu.stop()
        for name, seconds_used in bench.process_cpu().items():
            spent[name] += seconds_used - before[name]
        e2e.append(rate)
        errors += failed
        done += count
        direct.append(_direct_transitions(applier, bench.company_id, agent["id"], duration))
    # CPU per end-to-end transition by process, in ms: agentq's own, the services it runs
    # on, and the load generator.
    per_process = {
        f"cpu_ms_per_transition_{name.replace('-', '_').replace('.', '_')}": (
            used * 1000 / max(done, 1)
        )
        for name, used in spent.items()
    }
    others = {f"cpu_ms_per_transition_{name}" for name in [*SERVICES.values(), "loadgen"]}
    return {
        "e2e_transitions_per_s": statistics.median(e2e),
        "direct_transitions_per_s": statistics.median(direct),
        "e2e_over_direct": statistics.median(e2e) / statistics.median(direct),
        "e2e_transition_errors": errors,
        "cpu_ms_per_transition": sum(v for k, v in per_process.items() if k not in others),
        "cpu_ms_per_transition_all": sum(per_process.values()),
        **per_process,
    }


# --- create latency at half the maximum rate, vs a direct insert ---------------------


async def _closed_loop_creates(bench: Bench, duration_s: float) -> float:
    count = 0
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        nonlocal count
        client = bench.client()
        try:
            while time.perf_counter() < deadline:
                r = await client.request("POST", f"{bench.prefix}/issues", {"title": "max"})
                count += r.status == 201
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started)


async def _open_loop_creates(bench: Bench, rate: float, total: int) -> list[float]:
    """Requests sent on a fixed schedule; latency counted from when each was due, so a slow
    answer cannot hide the ones queued behind it."""
    pool: asyncio.Queue[Client] = asyncio.Queue()
    for _ in range(CONCURRENCY * 2):
        pool.put_nowait(bench.client())
    latencies: list[float] = []
    start = time.perf_counter()

    async def one(i: int) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        client = await pool.get()
        try:
            r = await client.request("POST", f"{bench.prefix}/issues", {"title": "latency"})
            assert r.status == 201, r.body
            latencies.append((time.perf_counter() - due) * 1000)
        finally:
            pool.put_nowait(client)

    await asyncio.gather(*(one(i) for i in range(total)))
    while not pool.empty():
        await pool.get_nowait().close()
    return latencies


def create_latency(bench: Bench, applier: Applier, cpu: CpuMeter) -> Figures:
    cpu.start()
    max_rate = asyncio.run(_closed_loop_creates(bench, seconds(8)))
    latencies = asyncio.run(_open_loop_creates(bench, max_rate / 2, scaled(2000, 20)))
    cpu.stop()
    direct: list[float] = []
    for _ in range(scaled(1000, 20)):
        env = Envelope(
            new_id("cmd"),
            bench.company_id,
            "user:bench",
            c.CreateIssue(new_id("iss"), "d"),
            success_status=201,
        )
        started = time.perf_counter()
        applier.apply(env)
        direct.append((time.perf_counter() - started) * 1000)
    return {
        "create_max_rate_per_s": max_rate,
        "create_latency_ms_p50": percentile(latencies, 50),
        "create_latency_ms_p99": percentile(latencies, 99),
        "direct_insert_latency_ms_p50": percentile(direct, 50),
        "direct_insert_latency_ms_p99": percentile(direct, 99),
    }
