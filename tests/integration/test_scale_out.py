"""Scaling the commands pool out: processes share the shards, and a dead one's shards move.

Runs its own distributed stack (two commands workers) on a vhost of its own, so no other
stack's workers take part in the sharing.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from service.settings import Settings
from tests.conftest import stack_of_its_own, vhost_of_its_own
from tests.e2e.client import Api
from tests.procs import ServiceUrls, Stack
from workers.broker import make_broker
from workers.commands import declare_command_actors, queue_name
from workers.shards import HEARTBEAT_S, LEASE_S, broker_namespace

SHARDS = 8


@pytest.fixture(scope="module")
def two_workers(
    service_urls: ServiceUrls, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    log_dir: Path = tmp_path_factory.mktemp("scale-out")
    with stack_of_its_own(service_urls, log_dir, workers=2) as stack:
        yield stack


def _owners(stack: Stack) -> dict[int, str]:
    """Shard -> the process that holds its lease, as the processes wrote it in Redis."""
    client = redis.Redis.from_url(stack.env["AGENTQ_REDIS_URL"])
    prefix = f"agentq:commands:{broker_namespace(stack.env['AGENTQ_BROKER_URL'])}:shard:"
    owners = {}
    for shard in range(SHARDS):
        value = client.get(prefix + str(shard))
        if value is not None:
            owners[shard] = value.decode()
    client.close()
    return owners


def _wait_for(predicate: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s}s")


def test_two_commands_workers_each_own_half_of_the_shards(two_workers: Stack) -> None:
    _wait_for(lambda: len(_owners(two_workers)) == SHARDS, timeout_s=LEASE_S * 3)
    _wait_for(
        lambda: sorted(Counter(_owners(two_workers).values()).values()) == [4, 4],
        timeout_s=LEASE_S * 3,
    )


def test_commands_on_every_shard_are_applied_in_order_by_the_two_workers(
    two_workers: Stack,
) -> None:
    with Api(two_workers.base_url, two_workers.admin_token) as api:
        acme = api.new_company()
        issues = [acme.issue(f"sharded {i}") for i in range(16)]  # spread over the shards
        for round_ in range(5):
            for issue in issues:
                acme.ok("PATCH", f"/issues/{issue['id']}", {"title": f"round {round_}"})
        for issue in issues:
            body = acme.ok("GET", f"/issues/{issue['id']}")
            assert body["version"] == 6 and body["title"] == "round 4", body


def test_killing_a_commands_worker_loses_nothing_and_the_other_takes_over(
    two_workers: Stack,
) -> None:
    _wait_for(lambda: sorted(Counter(_owners(two_workers).values()).values()) == [4, 4], 20)
    victim = next(p for p in two_workers.processes if p.name == "worker-commands-0")
    with Api(two_workers.base_url, two_workers.admin_token) as api:
        acme = api.new_company()
        issues = [acme.issue(f"survivor {i}") for i in range(16)]
        victim.popen.send_signal(signal.SIGKILL)
        victim.popen.wait(10)
        killed_at = time.monotonic()
        command_ids = []
        for issue in issues:
            accepted = acme.call(
                "PATCH",
                f"/issues/{issue['id']}",
                {"title": "after the kill"},
                headers={"Prefer": "respond-async"},
            )
            assert accepted.status_code == 202, accepted.text
            command_ids.append(accepted.json()["commandId"])
        deadline = killed_at + LEASE_S + 10 * HEARTBEAT_S + 20
        pending = set(command_ids)
        while pending and time.monotonic() < deadline:
            for command_id in list(pending):
                if acme.ok("GET", f"/commands/{command_id}")["status"] == "applied":
                    pending.discard(command_id)
            time.sleep(0.2)
        assert not pending, f"{len(pending)} of {len(command_ids)} commands never applied"
        for issue in issues:
            body = acme.ok("GET", f"/issues/{issue['id']}")
            assert (body["title"], body["version"]) == ("after the kill", 2), body
    survivors = set(_owners(two_workers).values())
    assert len(survivors) == 1 and len(_owners(two_workers)) == SHARDS


def test_quorum_queues_are_declared_when_asked(service_urls: ServiceUrls) -> None:
    with vhost_of_its_own(service_urls) as urls:
        settings = Settings(
            broker_url=urls.broker_url, redis_url=urls.redis_url, quorum_queues=True
        )
        broker = make_broker(settings)
        try:
            actors = declare_command_actors(broker, 2)
            actors[0].send({"probe": True})  # queues are declared on first use
            listed = subprocess.run(
                [
                    "rabbitmqctl",
                    "-q",
                    "list_queues",
                    "-p",
                    urls.broker_url.rsplit("/", 1)[1],
                    "name",
                    "type",
                    "arguments",
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
        finally:
            broker.close()
    lines = {line.split("\t")[0]: line for line in listed.splitlines() if "\t" in line}
    assert "quorum" in lines[queue_name(0)], lines
    assert "x-single-active-consumer" in lines[queue_name(0)], lines
    # Its dead letters too: a classic one lives on one node, and every publish and consumer
    # of the queue declares it, so that node's loss stopped the queue (tests/soak/).
    assert "quorum" in lines[f"{queue_name(0)}.XQ"], lines
    assert "quorum" in lines[f"{queue_name(0)}.DQ"], lines
