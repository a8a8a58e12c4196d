"""``make bench``: the distributed stack measured beside its own baselines, in one run.

Starts the Procfile processes on a fresh database and vhost of the machine's PostgreSQL,
RabbitMQ and Redis, measures every figure of issue #7 together with its baseline (several
rounds, medians), prints one JSON document and a table, and writes ``bench-results.json``.
``BENCH_SCALE`` (default 1) scales every size and duration down for a quick run.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.envelope import Envelope
from service.ids import new_id
from service.pagination import cursor_key, encode_cursor, list_scope, sign_cursor
from service.pipeline import Applier
from tests.benchmarks.loadgen import Client, CpuMeter, percentile
from tests.benchmarks.seed import seed_agents, seed_issues, seed_live_leases
from tests.procs import ROOT, SWEEP_INTERVAL_S, ServiceUrls, Stack, start_distributed

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
#: ``BENCH_ONLY=transitions,create``: measure only those sections (while tuning).
ONLY = set(os.environ.get("BENCH_ONLY", "transitions,create,claims,bulk,lists,leases").split(","))
ROUNDS = 3
#: ``worker-commands`` processes in the stack under test (they share the shards).
COMMAND_WORKERS = int(os.environ.get("BENCH_COMMAND_WORKERS", "1"))
CONCURRENCY = 32
#: The shortest lease a claim may ask for, in seconds (docs/api.md).
LEASE_TTL_S = 10

Figures = dict[str, float]


def scaled(n: float, minimum: int = 1) -> int:
    return max(minimum, round(n * SCALE))


def seconds(n: float, minimum: float = 1.0) -> float:
    return max(minimum, n * SCALE)


# --- the stack and its services -------------------------------------------------------


@contextmanager
def fresh_services() -> Iterator[ServiceUrls]:
    """A database and a vhost of the benchmark's own, dropped afterwards."""
    from tests.conftest import RABBIT_HOST, RABBIT_PORT, _psql, _rabbitmqctl

    run = new_id("b")[-10:]
    name = f"agentq_bench_{run}"
    _psql(f'CREATE DATABASE "{name}"')
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    try:
        yield ServiceUrls(
            database_url=f"postgresql://postgres@127.0.0.1:5432/{name}",
            broker_url=f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{name}",
            redis_url="redis://127.0.0.1:6379/15",
        )
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _rabbitmqctl("delete_vhost", name)


class Bench:
    """One running stack, an admin company on it, and a direct line to its database."""

    def __init__(self, stack: Stack, engine: Engine) -> None:
        self.stack, self.engine = stack, engine
        self.http = httpx.Client(base_url=stack.base_url, timeout=120)
        self.company_id, self.token = self.new_company()

    def new_company(self) -> tuple[str, str]:
        op = {"Authorization": f"Bearer {self.stack.admin_token}"}
        cid = self.http.post("/v1/companies", json={"name": "bench"}, headers=op).json()["id"]
        token = self.http.post(f"/v1/companies/{cid}/tokens", json={"role": "admin"}, headers=op)
        return cid, token.json()["token"]

    def ok(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        r = self.http.request(
            method, f"/v1/companies/{self.company_id}{path}", json=body, headers=headers
        )
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def client(self, token: str | None = None) -> Client:
        return Client(self.stack.base_url, token or self.token)

    @property
    def prefix(self) -> str:
        return f"/v1/companies/{self.company_id}"


# --- sync transitions: HTTP → RabbitMQ → worker → PostgreSQL → answer, vs direct ------


async def _e2e_transitions(bench: Bench, agent_id: str, duration_s: float) -> tuple[float, int]:
    """Each worker drives issues through create → PATCH → assign → cancel (4 transitions)."""
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
    return done / (time.perf_counter() - started), errors


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
    e2e, direct, errors = [], [], 0
    for _ in range(ROUNDS):  # interleaved: both meet the same noise
        cpu.start()
        rate, failed = asyncio.run(_e2e_transitions(bench, agent["id"], duration))
        cpu.stop()
        e2e.append(rate)
        errors += failed
        direct.append(_direct_transitions(applier, bench.company_id, agent["id"], duration))
    return {
        "e2e_transitions_per_s": statistics.median(e2e),
        "direct_transitions_per_s": statistics.median(direct),
        "e2e_over_direct": statistics.median(e2e) / statistics.median(direct),
        "e2e_transition_errors": errors,
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


# --- claims: 50 agents, 10,000 assigned issues ---------------------------------------


def claims(bench: Bench, cpu: CpuMeter) -> Figures:
    cid, token = bench.new_company()
    total, agents = scaled(10_000, 50), 50
    agent_ids = seed_agents(bench.engine, cid, agents, capacity=math.ceil(total / agents) + 1)
    seed_issues(
        bench.engine, cid, total, tag=f"cl{cid[-6:]}", status="assigned", agent_ids=agent_ids
    )
    admin = {"Authorization": f"Bearer {token}"}
    tokens = [
        bench.http.post(
            f"/v1/companies/{cid}/tokens", json={"role": "agent", "agentId": a}, headers=admin
        ).json()["token"]
        for a in agent_ids
    ]
    claimed: list[str] = []

    async def agent(agent_id: str, agent_token: str) -> None:
        client = Client(bench.stack.base_url, agent_token)
        path = f"/v1/companies/{cid}/agents/{agent_id}/claim"
        try:
            while True:
                # Leases outlast the run: expiries would queue behind the claims otherwise.
                r = await client.request("POST", path, {"leaseSeconds": 3600})
                if r.status == 204:
                    return
                assert r.status == 200, r.body
                claimed.append(r.json()["issue"]["id"])
        finally:
            await client.close()

    async def all_agents() -> None:
        await asyncio.gather(*(agent(a, t) for a, t in zip(agent_ids, tokens, strict=True)))

    cpu.start()
    started = time.perf_counter()
    asyncio.run(all_agents())
    elapsed = time.perf_counter() - started
    cpu.stop()
    with bench.engine.connect() as conn:
        leased_twice = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT issue_id FROM leases l "
                "JOIN issues i ON i.id = l.issue_id WHERE i.company_id = :cid "
                "GROUP BY issue_id HAVING count(*) > 1) twice"
            ),
            {"cid": cid},
        ).scalar_one()
    double = leased_twice + (len(claimed) - len(set(claimed)))
    assert len(set(claimed)) == total, f"{len(set(claimed))} of {total} claimed"
    return {"claims_per_s": len(claimed) / elapsed, "double_claims": double}


# --- bulk assign of 10,000 issues, vs 10,000 single assigns --------------------------


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


# --- list p99 with 1M issues: page 1 and page 10,000 ----------------------------------


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
    cpu.stop()
    return {
        "list_issues": total,
        "list_deep_page_number": deep,
        "list_p99_ms_first_page": percentile(first, 99),
        "list_p99_ms_deep_page": percentile(deep_page, 99),
        "list_p50_ms_first_page": percentile(first, 50),
        "list_p50_ms_deep_page": percentile(deep_page, 50),
    }


# --- lease-expiry lag with 100,000 live leases ---------------------------------------


def lease_expiry(bench: Bench) -> Figures:
    cid, token = bench.new_company()
    holder = seed_agents(bench.engine, cid, 1, capacity=1)[0]
    seed_live_leases(bench.engine, cid, holder, scaled(100_000, 100))
    admin = {"Authorization": f"Bearer {token}"}
    samples = scaled(20, 3)
    granted: dict[str, float] = {}
    for i in range(samples):
        aid = bench.http.post(
            f"/v1/companies/{cid}/agents", json={"name": f"silent{i}"}, headers=admin
        ).json()["id"]
        agent_token = bench.http.post(
            f"/v1/companies/{cid}/tokens", json={"role": "agent", "agentId": aid}, headers=admin
        ).json()["token"]
        bench.http.post(
            f"/v1/companies/{cid}/issues",
            json={"title": "expire me", "assignedAgentId": aid},
            headers=admin,
        )
        r = bench.http.post(
            f"/v1/companies/{cid}/agents/{aid}/claim",
            json={"leaseSeconds": LEASE_TTL_S},
            headers={"Authorization": f"Bearer {agent_token}"},
        )
        assert r.status_code == 200, r.text
        granted[r.json()["run"]["id"]] = time.time()
    deadline = time.monotonic() + LEASE_TTL_S + SWEEP_INTERVAL_S + 30
    lags: list[float] = []
    while time.monotonic() < deadline:
        with bench.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT r.id, extract(epoch FROM r.ended_at - l.granted_at) AS lag "
                    "FROM runs r JOIN leases l ON l.run_id = r.id "
                    "WHERE r.id = ANY(:ids) AND r.exit_reason = 'lease_expired'"
                ),
                {"ids": list(granted)},
            ).all()
        if len(rows) == samples:
            lags = [float(r.lag) for r in rows]
            break
        time.sleep(0.2)
    assert lags, "the sample leases were not all expired in time"
    return {
        "lease_expiry_lag_s": max(lags),
        "lease_expiry_lag_s_p50": statistics.median(lags),
        "lease_ttl_plus_interval_s": LEASE_TTL_S + SWEEP_INTERVAL_S,
        "live_leases": scaled(100_000, 100),
    }


# --- memory -------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the run ------------------------------------------------------------------------

TARGETS: dict[str, Callable[[Figures], bool]] = {
    "e2e_transitions_per_s": lambda f: (
        f["e2e_transitions_per_s"] >= 1000 and f["e2e_over_direct"] >= 0.5
    ),
    "create_latency_ms_p50": lambda f: f["create_latency_ms_p50"] <= 5,
    "create_latency_ms_p99": lambda f: f["create_latency_ms_p99"] <= 20,
    "claims_per_s": lambda f: f["claims_per_s"] >= 500,
    "double_claims": lambda f: f["double_claims"] == 0,
    "bulk_10k_assign_s": lambda f: f["bulk_10k_assign_s"] <= 10,
    "list_p99_ms_first_page": lambda f: f["list_p99_ms_first_page"] <= 20,
    "list_p99_ms_deep_page": lambda f: f["list_p99_ms_deep_page"] <= 20,
    "lease_expiry_lag_s": lambda f: f["lease_expiry_lag_s"] <= f["lease_ttl_plus_interval_s"] + 1,
    "rss_mb_api": lambda f: f["rss_mb_api"] <= 150,
    "rss_mb_worker": lambda f: f["rss_mb_worker"] <= 150,
}

TABLE = [
    (
        "sync transitions/s (c=32)",
        "e2e_transitions_per_s",
        "direct_transitions_per_s",
        ">= 1000 and >= 0.5 x direct",
    ),
    ("create latency p50, ms", "create_latency_ms_p50", "direct_insert_latency_ms_p50", "<= 5"),
    ("create latency p99, ms", "create_latency_ms_p99", "direct_insert_latency_ms_p99", "<= 20"),
    ("claims/s, 50 agents", "claims_per_s", None, ">= 500"),
    ("double claims", "double_claims", None, "0"),
    ("bulk assign 10k, s", "bulk_10k_assign_s", "single_10k_assigns_s", "<= 10"),
    ("list p99 page 1, ms", "list_p99_ms_first_page", None, "<= 20"),
    ("list p99 deep page, ms", "list_p99_ms_deep_page", None, "<= 20"),
    (
        "lease expiry lag, s",
        "lease_expiry_lag_s",
        "lease_ttl_plus_interval_s",
        "<= TTL + interval + 1",
    ),
    ("peak RSS api, MB", "rss_mb_api", None, "<= 150"),
    ("peak RSS commands worker, MB", "rss_mb_worker", None, "<= 150"),
]


def run() -> dict[str, Any]:
    from service.db.engine import make_engine
    from service.settings import Settings

    with fresh_services() as urls:
        log_dir = Path(tempfile.mkdtemp(prefix="agentq-bench-"))
        stack = start_distributed(urls.env(), log_dir, workers=COMMAND_WORKERS)
        settings = Settings(database_url=urls.database_url)
        engine = make_engine(settings, pool_size=CONCURRENCY)
        cpu = CpuMeter()
        try:
            bench = Bench(stack, engine)
            applier = Applier(engine, lambda _to, _outcome: None)
            figures: Figures = {
                "scale": SCALE,
                "rounds": ROUNDS,
                "concurrency": CONCURRENCY,
                "command_workers": COMMAND_WORKERS,
            }
            sections: dict[str, Callable[[], Figures]] = {
                "transitions": lambda: transitions(bench, applier, cpu),
                "create": lambda: create_latency(bench, applier, cpu),
                "claims": lambda: claims(bench, cpu),
                "bulk": lambda: bulk(bench, cpu),
                "lists": lambda: lists(bench, cpu),
                "leases": lambda: lease_expiry(bench),
            }
            for name, section in sections.items():
                if name in ONLY:
                    figures |= section()
            web = next(p for p in stack.processes if p.name == "web")
            worker = next(p for p in stack.processes if p.name.startswith("worker-commands"))
            figures["rss_mb_api"] = peak_rss_mb(web.popen.pid)
            figures["rss_mb_worker"] = peak_rss_mb(worker.popen.pid)
            figures["loadgen_cpu_share"] = cpu.share
        finally:
            stack.stop()
            engine.dispose()
    targets = {
        name: bool(check(figures))
        for name, check in TARGETS.items()
        if all(key in figures for key in _keys_of(name))
    }
    return {**figures, "targets_met": targets}


def _keys_of(target: str) -> set[str]:
    """The figures a target's check reads (all of them must have been measured)."""
    needs = {
        "e2e_transitions_per_s": {"e2e_transitions_per_s", "e2e_over_direct"},
        "lease_expiry_lag_s": {"lease_expiry_lag_s", "lease_ttl_plus_interval_s"},
    }
    return needs.get(target, {target})


def table(result: dict[str, Any]) -> str:
    lines = [f"{'figure':32} {'measured':>12} {'baseline':>12}  target (met?)"]
    for label, key, base, target in TABLE:
        if key not in result:
            continue
        baseline = "" if base is None else f"{result[base]:12.2f}"
        met = "yes" if result["targets_met"].get(key) else "NO"
        lines.append(f"{label:32} {result[key]:12.2f} {baseline:>12}  {target} ({met})")
    lines.append(f"{'load generator CPU share':32} {result['loadgen_cpu_share']:12.2f}")
    return "\n".join(lines)


def main() -> None:
    result = run()
    (ROOT / "bench-results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(table(result), file=sys.stderr)


if __name__ == "__main__":
    main()
