"""Nothing accepted is lost, nothing is applied twice (DESIGN.md rule 2), on RabbitMQ."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.commands.envelope import Envelope
from service.commands.pipeline import Applier
from service.ids import new_id
from service.settings import Settings
from service.store import tables as t
from tests.integration.conftest import Apply, count, scrape, wait_until
from tests.procs import ServiceUrls, Stack, spawn
from workers.broker import make_broker
from workers.commands import CommandBus, declare_command_actors, queue_name, shard_for


def _bus(settings: Settings) -> CommandBus:
    broker = make_broker(settings)
    return CommandBus(declare_command_actors(broker, settings.command_shards))


def _wait_applied(engine: Engine, command_id: str, timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(t.applied_commands).where(t.applied_commands.c.id == command_id)
            ).first()
        if row is not None:
            return row
        time.sleep(0.1)
    raise AssertionError(f"{command_id} was not applied within {timeout_s}s")


def _envelope(company: str, command: Any) -> Envelope:
    return Envelope(new_id("cmd"), company, "user:test", command, 201)


def _queue(broker_url: str, name: str) -> tuple[int, int]:
    """A RabbitMQ queue's (messages ready, consumers); (0, 0) while it is not declared."""
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        declared = connection.channel().queue_declare(name, passive=True)
    except pika.exceptions.ChannelClosedByBroker:  # 404: not declared (yet)
        return 0, 0
    finally:
        connection.close()
    return declared.method.message_count, declared.method.consumer_count


def test_a_command_published_while_no_worker_runs_is_applied_once_by_a_worker_started_later(
    own_vhost_urls: ServiceUrls, engine: Engine, company: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=own_vhost_urls.database_url,
        broker_url=own_vhost_urls.broker_url,
        redis_url=own_vhost_urls.redis_url,
    )
    env = _stack_env(settings)
    first = spawn("worker-a", ["-m", "workers", "commands"], env, tmp_path)
    queues = [queue_name(shard) for shard in range(settings.command_shards)]
    wait_until(
        lambda: all(_queue(own_vhost_urls.broker_url, q)[1] >= 1 for q in queues),
        "the first worker declared every shard queue and consumes it",
    )
    first.stop()
    assert first.popen.poll() is not None, "the first worker is still running"

    bus = _bus(settings)
    issue_id = new_id("iss")
    envelope = _envelope(company, c.CreateIssue(issue_id, "published while no worker runs"))
    bus.publish(envelope)
    bus.actors[0].broker.close()
    shard = queue_name(shard_for(envelope.command.shard_key, settings.command_shards))
    wait_until(
        lambda: _queue(own_vhost_urls.broker_url, shard) == (1, 0),
        "the command waits in its queue, which nobody consumes",
    )
    assert count(engine, sa.select(t.issues).where(t.issues.c.id == issue_id)) == 0

    second = spawn("worker-b", ["-m", "workers", "commands"], env, tmp_path)
    try:
        row = _wait_applied(engine, envelope.command_id)
    finally:
        second.stop()
    assert row.status == "applied" and row.http_status == 201
    assert count(engine, sa.select(t.issues).where(t.issues.c.id == issue_id)) == 1
    assert count(engine, sa.select(t.activity).where(t.activity.c.issue_id == issue_id)) == 1


def test_a_redelivered_command_is_applied_once_and_answers_the_same(
    settings: Settings,
    engine: Engine,
    company: str,
    apply: Apply,
    applier: Applier,
    distributed: Stack,
) -> None:
    issue_id = new_id("iss")
    assert apply(c.CreateIssue(issue_id, "redelivery"), company).applied
    agent_id = new_id("agt")
    assert apply(c.CreateAgent(agent_id, "writer"), company).applied
    envelope = Envelope(new_id("cmd"), company, "user:test", c.AssignIssue(issue_id, agent_id))

    stack_settings = Settings(
        broker_url=distributed.env["AGENTQ_BROKER_URL"], redis_url=settings.redis_url
    )
    bus = _bus(stack_settings)
    outcomes = (
        "agentq_commands_applied_total",
        "agentq_commands_replayed_total",
        "agentq_commands_rejected_total",
    )

    def handled() -> float:
        """Copies of an AssignIssue the stack's workers have answered, however."""
        return sum(scrape(distributed, name, type="AssignIssue") for name in outcomes)

    before = handled()
    for _ in range(3):  # the broker hands the same message over again
        bus.publish(envelope)
    bus.actors[0].broker.close()
    first = _wait_applied(engine, envelope.command_id)
    wait_until(lambda: handled() >= before + 3, "the workers answered all three copies")

    replayed = applier.apply(envelope)  # a late copy, applied here
    with engine.connect() as conn:
        issue = conn.execute(sa.select(t.issues).where(t.issues.c.id == issue_id)).one()
        entries = (
            conn.execute(sa.select(t.activity.c.type).where(t.activity.c.issue_id == issue_id))
            .scalars()
            .all()
        )
    assert issue.status == "assigned" and issue.version == 2
    assert sorted(entries) == ["issue.assigned", "issue.created"]
    assert first.status == "applied"
    assert replayed.applied and replayed.http_status == first.http_status
    assert replayed.body == first.body


def _stack_env(settings: Settings) -> dict[str, str]:
    return {
        "AGENTQ_DATABASE_URL": settings.database_url or "",
        "AGENTQ_BROKER_URL": settings.broker_url or "",
        "AGENTQ_REDIS_URL": settings.redis_url or "",
        "AGENTQ_LOG_LEVEL": "WARNING",
    }
