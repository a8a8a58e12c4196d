"""Reads: the p99 of page 1 and of page 10,000 in a company of 1,000,000 issues, and pages
of 50 per second at 16 connections, with their latency and the API's CPU per page."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from service.reads.pagination import cursor_key, encode_cursor, list_scope, sign_cursor
from tests.benchmarks.loadgen import Client, CpuMeter, percentile
from tests.benchmarks.seed import seed_issues
from tests.benchmarks.stack import Bench, Figures, scaled, seconds


def lists(bench: Bench, cpu: CpuMeter) -> Figures:
    cid, token = bench.new_company()
    total = scaled(1_000_000, 1000)
    seed_issues(bench.engine, cid, total, tag=f"ls{cid[-6:]}")
    page_size = 50
    deep = min(10_000, total // page_size)  # the page asked for: 10,000 at full scale
    with bench.engine.connect() as conn:
        last_of_previous = conn.execute(
            sa.text(
                "SELECT created_at, id FROM issues WHERE company_id = :cid "
                "ORDER BY created_at DESC, id DESC OFFSET :n LIMIT 1"
            ),
            {"cid": cid, "n": (deep - 1) * page_size - 1},
        ).one()
    # The cursor page N-1 gives, signed as the API signs it (walking 10,000 pages to get it
    # would take the benchmark's whole time).
    position = encode_cursor(last_of_previous.created_at, last_of_previous.id)
    scope = list_scope(f"/v1/companies/{cid}/issues", {})
    cursor = sign_cursor(cursor_key(bench.stack.admin_token), scope, position)
    rounds = scaled(300, 20)

    async def timed(path: str) -> list[float]:
        client = Client(bench.stack.base_url, token)
        out = []
        try:
            for _ in range(rounds):
                started = time.perf_counter()
                r = await client.request("GET", path)
                assert r.status == 200 and len(r.json()["data"]) == page_size, r.body[:200]
                out.append((time.perf_counter() - started) * 1000)
        finally:
            await client.close()
        return out

    base = f"/v1/companies/{cid}/issues?limit={page_size}"
    cpu.start()
    first = asyncio.run(timed(base))
    deep_page = asyncio.run(timed(f"{base}&cursor={cursor}"))
    web_before = bench.process_cpu()["web"]
    pages, wall_s, latencies = asyncio.run(
        _closed_loop_reads(bench.stack.base_url, token, base, page_size)
    )
    web_s = bench.process_cpu()["web"] - web_before
    cpu.stop()
    return {
        "list50_per_s": pages / wall_s,
        "list50_p99_ms": percentile(latencies, 99),
        "list50_cpu_ms_api": web_s * 1000 / max(pages, 1),
        "list_issues": total,
        "list_deep_page_number": deep,
        "list_p99_ms_first_page": percentile(first, 99),
        "list_p99_ms_deep_page": percentile(deep_page, 99),
        "list_p50_ms_first_page": percentile(first, 50),
        "list_p50_ms_deep_page": percentile(deep_page, 50),
    }


#: Connections of the closed-loop read throughput.
READ_CONNECTIONS = 16


async def _closed_loop_reads(
    base_url: str, token: str, path: str, page_size: int
) -> tuple[int, float, list[float]]:
    """``READ_CONNECTIONS`` clients GET ``path`` back to back for 20 s x BENCH_SCALE: (pages
    read, seconds, each page's latency in ms)."""
    deadline = time.perf_counter() + seconds(20)
    latencies: list[float] = []

    async def worker() -> None:
        client = Client(base_url, token)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                r = await client.request("GET", path)
                assert r.status == 200 and r.body.count(b'"id":"iss_') == page_size, r.body[:200]
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(READ_CONNECTIONS)))
    return len(latencies), time.perf_counter() - started, latencies
