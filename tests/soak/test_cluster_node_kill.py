"""A RabbitMQ cluster node killed under load: the distributed stack on a three-node cluster of
its own with quorum queues, and ``kill -9`` of the node every client is connected to.

Every process (the API, two commands workers, the webhooks and bulk pools, the scheduler) is
given the three nodes as one ``;``-separated ``AGENTQ_BROKER_URL`` (Dramatiq's URL list), the
first node first: every connection, and so every quorum queue's leader (RabbitMQ places a new
queue's leader on the node its declarer is connected to), starts on ``aqc1``. While the fault
suite's mixed HTTP load runs (tests/faults/test_faults_under_load.py), ``aqc1``'s Erlang VM
is killed with SIGKILL and never comes back: the API's publisher and every worker must
reconnect to ``aqc2`` or ``aqc3``, and the queues elect leaders there (two of three replicas
remain). Then:

- every command shard is consumed again within ``SHARD_BACK_S`` of the kill: a comment
  posted to an issue of each shard every half second from the kill on is applied (its
  ``applied_at``, by the worker's clock, against the test's at the kill), and none is lost;
- the history checks of the fault suite: every write answered 2xx or 202 applied or rejected
  exactly once, none lost, every issue's trail a path through the transition table, no 5xx
  but 503 (problem+json, Retry-After), no hang, nothing stuck;
- the queues' leaders are on the surviving nodes, and every agentq process is still up.

It failed in 6 of 7 runs until the API's publisher retired a connection that nacks
(``workers/async_publisher.py``): the connection the API opened on a survivor while the
queues elected their leaders went on nacking every publish to some queues (795 nacks in 30 s
in one run, 6 of 8 shards never consumed again). Since: every shard consumed again
3.1-5.1 s after the kill, every run (docs/scaling.md).

Run only under ``AGENTQ_SOAK=1`` (``make soak``; tests/conftest.py leaves tests/soak/ out of
the collection otherwise): ``AGENTQ_SOAK=1 .venv/bin/pytest tests/soak -x -s``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.settings import Settings
from service.store import tables as t
from service.store.engine import make_engine
from tests.conftest import PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, _psql, _require
from tests.e2e.client import Api
from tests.faults.test_faults_under_load import (
    COMMAND_WAIT_MS,
    THREADS,
    World,
    _check_history_of,
    _client,
    _drive,
    _ready_within,
    _settle,
    seeded_world,
)
from tests.procs import ServiceUrls, Stack, start_distributed
from tests.soak.cluster import Node, RabbitCluster
from workers.commands import shard_for

#: Load before the kill and after every shard is consumed again, in seconds.
LOAD_BEFORE_S = 15
LOAD_AFTER_S = 20
#: Every shard must be consumed again within this long of the kill, in seconds.
SHARD_BACK_S = 30
SHARDS = Settings().command_shards


#: What the probe comments were answered (for the diagnosis).
PROBE_STATUSES: Counter[str] = Counter()


@dataclass
class ClusterRun:
    cluster: RabbitCluster
    vhost: str
    urls: ServiceUrls
    stack: Stack
    engine: Engine


@pytest.fixture
def cluster_run(tmp_path: Path) -> Iterator[ClusterRun]:
    """The cluster, a database and vhost of this run's own, and the stack on them: all of
    it stopped (the nodes, too) and dropped at the end."""
    _require("PostgreSQL", PG_HOST, PG_PORT)
    _require("Redis", REDIS_HOST, REDIS_PORT)
    run = uuid.uuid4().hex[:10]
    database = vhost = f"agentq_cluster_{run}"
    cluster = RabbitCluster(tmp_path / "rabbit")
    try:
        cluster.start()
        cluster.add_vhost(vhost)
        _psql(f'CREATE DATABASE "{database}"')
        try:
            urls = ServiceUrls(
                database_url=f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{database}",
                broker_url=";".join(node.url(vhost) for node in cluster.nodes),
                redis_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{int(run[:4], 16) % 15 + 1}",
            )
            overrides = {
                "AGENTQ_COMMAND_WAIT_MS": str(COMMAND_WAIT_MS),
                "AGENTQ_QUORUM_QUEUES": "true",
            }
            stack = start_distributed(urls.env(), tmp_path, workers=2, overrides=overrides)
            settings = Settings(database_url=urls.database_url)
            engine = make_engine(settings, pool_size=2)
            try:
                yield ClusterRun(cluster, vhost, urls, stack, engine)
            finally:
                engine.dispose()
                stack.stop()
        finally:
            _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        cluster.stop()


def _one_issue_per_shard(world: World) -> dict[int, str]:
    """An issue of each command shard (more are created until every shard has one)."""
    found: dict[int, str] = {}
    with _client(world.acme, world.acme.token) as http:
        for _ in range(200):
            with world.lock:
                for issue_id in world.issues:
                    found.setdefault(shard_for(issue_id, SHARDS), issue_id)
            if len(found) == SHARDS:
                return found
            r = http.post("/issues", json={"title": "cluster shard probe"})
            r.raise_for_status()
            with world.lock:
                world.issues.append(r.json()["id"])
    raise AssertionError(f"no issue in some shard after 200 creates: {sorted(found)}")


def _probe_shards(
    world: World, probes: dict[int, str], done: threading.Event, sent: dict[str, int]
) -> None:
    """A comment (always applied) on each shard's issue every half second until ``done``,
    answered at once (``Prefer: respond-async``); ``sent``: command id -> shard."""
    with _client(world.acme, world.acme.token) as http:
        while not done.is_set():
            for shard, issue_id in probes.items():
                try:
                    r = http.post(
                        f"/issues/{issue_id}/comments",
                        json={"text": "probe", "author": "user:soak"},
                        headers={"Prefer": "respond-async", "Idempotency-Key": uuid.uuid4().hex},
                    )
                except httpx.HTTPError as e:
                    PROBE_STATUSES[type(e).__name__] += 1
                    continue
                PROBE_STATUSES[str(r.status_code)] += 1
                if r.status_code in (201, 202) and r.headers.get("command-id"):
                    sent[r.headers["command-id"]] = shard
            done.wait(0.5)


def _shards_back(
    engine: Engine, sent: dict[str, int], killed_at: datetime, timeout_s: float
) -> dict[int, float]:
    """Shard -> seconds from the kill until its consumer applied a command sent after it
    (a probe's): the shard is consumed again. Shards not back by ``timeout_s`` are missing."""
    back: dict[int, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(back) < SHARDS and time.monotonic() < deadline:
        ids = list(sent)
        if ids:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(t.applied_commands.c.id, t.applied_commands.c.applied_at).where(
                        t.applied_commands.c.id.in_(ids)
                    )
                ).all()
            for command_id, applied_at in rows:
                shard = sent[command_id]
                seconds = (applied_at - killed_at).total_seconds()
                back[shard] = min(back.get(shard, seconds), seconds)
        time.sleep(0.2)
    return back


def _print_queues(cluster: RabbitCluster, via: Node, vhost: str) -> None:
    """For the diagnosis of a shard not consumed again: what the survivors hold."""
    for args in (
        ("list_queues", "-p", vhost, "name", "messages_ready", "messages_unacknowledged"),
        ("list_consumers", "-p", vhost, "queue_name", "active"),
    ):
        print(cluster.ctl(via, *args, check=False))


def _check_survivors(run: ClusterRun, leaders_before: Counter[str]) -> Counter[str]:
    """Every queue led from a surviving node, and every agentq process up; the leaders."""
    first, survivor = run.cluster.nodes[0], run.cluster.nodes[1]
    leaders_after = Counter(run.cluster.leaders(survivor, run.vhost).values())
    assert first.name not in leaders_after, leaders_after
    assert sum(leaders_after.values()) == sum(leaders_before.values()), (
        leaders_before,
        leaders_after,
    )
    for process in run.stack.processes:
        assert process.popen.poll() is None, f"{process.name} died:\n{process.tail()}"
    return leaders_after


def test_killing_the_connected_rabbitmq_node_loses_nothing(cluster_run: ClusterRun) -> None:
    cluster, stack = cluster_run.cluster, cluster_run.stack
    first, survivor = cluster.nodes[0], cluster.nodes[1]
    with Api(stack.base_url, stack.admin_token) as api:
        acme = api.new_company()
        world = seeded_world(acme, "cluster")
        probes = _one_issue_per_shard(world)
        drivers = [threading.Thread(target=_drive, args=(world, seed)) for seed in range(THREADS)]
        for driver in drivers:
            driver.start()
        sent: dict[str, int] = {}
        try:
            time.sleep(LOAD_BEFORE_S)
            leaders_before = Counter(cluster.leaders(survivor, cluster_run.vhost).values())
            world.phase = "node down"
            killed_at = datetime.now(UTC)
            cluster.kill(first)
            probing = threading.Event()
            prober = threading.Thread(target=_probe_shards, args=(world, probes, probing, sent))
            prober.start()
            try:
                back = _shards_back(cluster_run.engine, sent, killed_at, SHARD_BACK_S)
            finally:
                probing.set()
                prober.join(60)
            if len(back) < SHARDS:
                _print_queues(cluster, survivor, cluster_run.vhost)
            world.phase = "node gone"
            ready_s = _ready_within(stack, 30)
            time.sleep(LOAD_AFTER_S)
        finally:
            world.stop.set()
            for driver in drivers:
                driver.join(120)
        assert not any(driver.is_alive() for driver in drivers)

    print(
        f"\nshards consumed again, seconds after the kill: {dict(sorted(back.items()))}; "
        f"probe answers: {dict(PROBE_STATUSES)}"
    )
    late = sorted(set(probes) - set(back))
    assert late == [], f"shards not consumed again within {SHARD_BACK_S}s of the kill: {late}"
    assert _settle(cluster_run.engine, set(sent)) == set(), "probe comments lost"
    # 503s are allowed (not required) while the node is down: the fault suite's check asks
    # for none in particular here.
    transitions = _check_history_of(cluster_run.engine, acme.id, world.answers, outages_met=())
    leaders_after = _check_survivors(cluster_run, leaders_before)
    statuses = Counter((a.phase, a.status) for a in world.answers)
    print(
        f"\ncluster: killed {first.name} (quorum leaders before: {dict(leaders_before)}, "
        f"after: {dict(leaders_after)})\n"
        f"shards consumed again after the kill: slowest {max(back.values()):.2f}s, "
        f"fastest {min(back.values()):.2f}s ({len(sent)} probe comments, every one applied); "
        f"/ready after all shards back: {ready_s:.2f}s\n"
        f"answers by phase and status: {dict(sorted(statuses.items()))}\n{transitions}"
    )
    assert httpx.get(stack.base_url + "/ready", timeout=5).status_code == 200
