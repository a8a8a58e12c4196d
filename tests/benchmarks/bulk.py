"""A bulk assign of 10,000 issues, beside 10,000 single assigns at the same concurrency."""

from __future__ import annotations

import asyncio
import time

from service.ids import new_id
from tests.benchmarks.loadgen import CpuMeter
from tests.benchmarks.seed import seed_issues
from tests.benchmarks.stack import CONCURRENCY, Bench, Figures, scaled


def bulk(bench: Bench, cpu: CpuMeter) -> Figures:
    total = scaled(10_000, 20)
    agent = bench.ok("POST", "/agents", {"name": "bulk-assignee"})
    for_bulk = seed_issues(bench.engine, bench.company_id, total, tag=f"bk{new_id('x')[-6:]}")
    for_single = seed_issues(bench.engine, bench.company_id, total, tag=f"sg{new_id('x')[-6:]}")
    headers = {"Authorization": f"Bearer {bench.token}", "Prefer": "respond-async"}
    cpu.start()
    started = time.perf_counter()
    r = bench.http.post(
        f"{bench.prefix}/issues/bulk",
        json={"ids": for_bulk, "op": "assign", "args": {"agentId": agent["id"]}},
        headers=headers,
    )
    assert r.status_code in (200, 202), r.text
    job_id = r.json()["id"]
    while True:
        job = bench.ok("GET", f"/bulk/{job_id}")
        if job["status"] == "done":
            break
        time.sleep(0.05)
    bulk_s = time.perf_counter() - started
    assert job["succeeded"] == total, job

    async def singles() -> None:
        queue = list(for_single)

        async def worker() -> None:
            client = bench.client()
            try:
                while queue:
                    iid = queue.pop()
                    r = await client.request(
                        "POST", f"{bench.prefix}/issues/{iid}/assign", {"agentId": agent["id"]}
                    )
                    assert r.status == 200, r.body
            finally:
                await client.close()

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    started = time.perf_counter()
    asyncio.run(singles())
    single_s = time.perf_counter() - started
    cpu.stop()
    return {"bulk_10k_assign_s": bulk_s, "single_10k_assigns_s": single_s, "bulk_issues": total}
