"""What every section of the benchmark shares: its sizes, the stack under test and the
services it runs on, and the CPU and memory the processes use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.ids import new_id
from tests.benchmarks.loadgen import Client, process_cpu_s
from tests.procs import ServiceUrls, Stack

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
#: ``BENCH_ONLY=transitions,create``: measure only those sections (while tuning).
SECTIONS = "transitions,limit,create,claims,bulk,webhooks,lists,leases"
ONLY = set(os.environ.get("BENCH_ONLY", SECTIONS).split(","))
ROUNDS = 3
#: ``worker-commands`` processes in the stack under test (they share the shards).
COMMAND_WORKERS = int(os.environ.get("BENCH_COMMAND_WORKERS", "1"))
#: Settings of the stack under test, passed on as they are (``AGENTQ_`` variables of this
#: shell are not): ``BENCH_COMMAND_BATCH=8`` applies a shard's waiting commands in batches,
#: ``BENCH_BULK_SLICES=true`` applies bulks in slices, ``BENCH_LOG_LEVEL=INFO`` keeps every
#: attempt and command in the stack's logs (``agentq-bench-*`` in the temp dir).
STACK_OVERRIDES = {
    f"AGENTQ_{name}": os.environ[f"BENCH_{name}"]
    for name in ("COMMAND_BATCH", "BULK_SLICES", "LOG_LEVEL")
    if f"BENCH_{name}" in os.environ
}
CONCURRENCY = 32
#: The lease the lease-expiry section's claims ask for, in seconds.
LEASE_TTL_S = 10

Figures = dict[str, float]


def scaled(n: float, minimum: int = 1) -> int:
    return max(minimum, round(n * SCALE))


def seconds(n: float, minimum: float = 1.0) -> float:
    return max(minimum, n * SCALE)


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

    def __init__(self, stack: Stack, engine: Engine, database_url: str) -> None:
        self.stack, self.engine, self.database_url = stack, engine, database_url
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

    def process_cpu(self) -> dict[str, float]:
        """CPU seconds each process of the stack, each service it runs on and this load
        generator have used so far, by name (``web``, ``postgresql``, ``loadgen``, …)."""
        own = {p.name: process_cpu_s(p.popen.pid) for p in self.stack.processes}
        return {**own, **service_cpu_s(), "loadgen": process_cpu_s(os.getpid())}

    def vacuum_analyze(self) -> None:
        """Between sections (autovacuum is off on these machines): no section reads the dead
        rows of the one before, or plans with its stale statistics."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


#: The machine's services by the command name of their processes (``/proc/<pid>/comm``).
SERVICES = {"postgres": "postgresql", "beam.smp": "rabbitmq", "redis-server": "redis"}


def service_cpu_s() -> dict[str, float]:
    """CPU seconds PostgreSQL, RabbitMQ and Redis have used so far (every process of each;
    PostgreSQL's backends that exited count in their postmaster's children's times). Other
    work on the machine against the same services counts too: measure on a quiet box."""
    used = dict.fromkeys(SERVICES.values(), 0.0)
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone since the listing
        comm = text[text.index("(") + 1 : text.rindex(")")]
        service = SERVICES.get(comm)
        if service is None:
            continue
        fields = text.rsplit(")", 1)[1].split()
        # utime, stime, cutime, cstime: fields 14-17 (the list starts at field 3).
        utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
        parent = _comm(int(fields[1]))
        children = cutime + cstime if parent != comm else 0  # the service's root process
        used[service] += (utime + stime + children) / ticks
    return used


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
