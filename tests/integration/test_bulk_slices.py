"""Bulks applied as per-shard slices (``ApplyBulkSlice``): a slice gives what one command per
item gives, and keeps each item's guarantees (exactly once, its own refusal, its own time).

The differential test runs the same random bulk over the same random issues on two fresh
databases: one applied by the old path (one command per item, ``BulkRunner(slices=False)``),
the other by slices, with the same ids, one fixed clock and one shard (so that both apply
the items in position order: ``bulk_worlds.Bulk.shards`` says why), and compares each item's
outcome, the issues, runs, agents, activity, webhook events, stored outcomes and follow-up
commands."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from sqlalchemy.engine import Engine

from domain import commands as c
from domain.errors import InvalidTransition
from domain.statuses import IssueStatus
from service.clock import utc_now
from service.commands.batches import BatchApplier
from service.commands.bulk_runner import BulkRunner
from service.commands.envelope import Envelope, Outcome
from service.commands.handlers.bulk import item_command, item_command_id
from service.commands.registry import HANDLERS
from service.ids import new_id
from service.settings import Settings
from service.store import tables as t
from service.store.engine import make_engine
from tests.conftest import PG_HOST, PG_PORT, _psql
from tests.integration.bulk_worlds import (
    MISSING_AGENT,
    MISSING_BOTH,
    MISSING_ISSUE,
    Bulk,
    World,
    applier_of,
    env_of,
    examples,
    setup_of,
    shard_of,
    state_of,
)
from tests.procs import ServiceUrls


@pytest.fixture(scope="module")
def two_databases(service_urls: ServiceUrls) -> Iterator[tuple[Engine, Engine]]:
    """Two fresh, migrated databases of their own: the same ids can be used in both."""
    from service.migrate import upgrade

    names = [f"agentq_test_slices_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    engines = []
    for name in names:
        _psql(f'CREATE DATABASE "{name}"')
        url = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"
        upgrade(Settings(database_url=url))
        engines.append(make_engine(Settings(database_url=url), pool_size=2))
    try:
        yield engines[0], engines[1]
    finally:
        for engine in engines:
            engine.dispose()
        for name in names:
            _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@given(example=examples())
@example(
    example=(
        MISSING_BOTH,
        Bulk(
            "assign",
            {"agentId": MISSING_AGENT},
            (MISSING_ISSUE, *MISSING_BOTH.issues, MISSING_ISSUE, MISSING_BOTH.issues[1]),
            2,
            5,
        ),
    )
)
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_bulk_applied_in_slices_answers_and_writes_what_one_command_per_item_does(
    two_databases: tuple[Engine, Engine], example: tuple[World, Bulk]
) -> None:
    world, bulk = example
    moment = utc_now()
    bulk_id = new_id("blk")
    start = env_of(world, c.StartBulk(bulk_id, bulk.op, bulk.args, bulk.ids), 202)
    setup = setup_of(world)
    states, follow_ups = [], []
    for engine, slices in zip(two_databases, (False, True), strict=True):
        sent: list[str] = []
        applier = applier_of(engine, moment, sent)
        for env in setup:
            assert applier.apply(env).applied, env
        assert applier.apply(start).applied
        sent.clear()  # the setup's follow-ups: the same in both
        runner = BulkRunner(
            engine,
            applier.apply,
            lambda key: shard_of(key, bulk.shards),
            slices=slices,
            slice_items=bulk.slice_items,
            chunk_items=bulk.chunk_items,
        )
        runner.run(bulk_id)
        states.append(state_of(engine, world, bulk_id))
        follow_ups.append(sorted(sent))
    one_by_one, sliced = states
    for part in one_by_one:
        assert sliced[part] == one_by_one[part], part
    assert follow_ups[1] == follow_ups[0]
    assert sliced["job"]["status"] == "done"
    assert sliced["job"]["succeeded"] + sliced["job"]["failed"] == len(bulk.ids)
    # The sliced bulk went by slices only, none refused (no fall-back to the old path).
    assert _slice_statuses(two_databases[0], bulk_id) == []
    sliced_statuses = _slice_statuses(two_databases[1], bulk_id)
    assert sliced_statuses and set(sliced_statuses) == {"applied"}


def _slice_statuses(engine: Engine, bulk_id: str) -> list[str]:
    """The stored status of each slice of the bulk (its reply names the bulk)."""
    a = t.applied_commands.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(a.status, a.body).where(a.type == "ApplyBulkSlice")).all()
    return [status for status, body in rows if body and body.get("bulkId") == bulk_id]


# --- each guarantee, one at a time ---------------------------------------------------------


def _issue(engine: Engine, issue_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.issues).where(t.issues.c.id == issue_id)).one()


def _activity(engine: Engine, *issue_ids: str) -> list[Any]:
    with engine.connect() as conn:
        query = sa.select(t.activity).where(t.activity.c.issue_id.in_(issue_ids))
        return list(conn.execute(query.order_by(t.activity.c.at, t.activity.c.stream_pos)).all())


def _items(engine: Engine, bulk_id: str) -> list[Any]:
    with engine.connect() as conn:
        query = sa.select(t.bulk_items).where(t.bulk_items.c.bulk_id == bulk_id)
        return list(conn.execute(query.order_by(t.bulk_items.c.position)).all())


def _job(engine: Engine, bulk_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.bulk_jobs).where(t.bulk_jobs.c.id == bulk_id)).one()


@dataclass
class Company:
    """A company of the run's database with an agent, applying through ``applier``."""

    id: str
    agent: str
    applier: BatchApplier

    def apply(self, command: Any, status: int = 200) -> Outcome:
        return self.applier.apply(Envelope(new_id("cmd"), self.id, "user:test", command, status))

    def issues(self, count: int) -> list[str]:
        ids = [new_id("iss") for _ in range(count)]
        for i, issue in enumerate(ids):
            assert self.apply(c.CreateIssue(issue, f"issue {i}"), 201).applied
        return ids

    def bulk(self, op: str, args: dict[str, Any], ids: list[str]) -> str:
        bulk_id = new_id("blk")
        assert self.apply(c.StartBulk(bulk_id, op, args, tuple(ids)), 202).applied
        return bulk_id

    def slice(self, bulk_id: str, positions: list[int], issue_id: str) -> Envelope:
        return Envelope(
            new_id("cmd"),
            self.id,
            "user:test",
            c.ApplyBulkSlice(bulk_id, tuple(positions), issue_id),
        )


def _company(engine: Engine, clock: Callable[[], datetime] = utc_now) -> Company:
    applier = BatchApplier(engine, lambda *_: None, clock=clock)
    company = Company(new_id("cmp"), new_id("agt"), applier)
    assert company.apply(c.CreateCompany(company.id, "Acme"), 201).applied
    assert company.apply(c.CreateAgent(company.agent, "agent", capacity=5), 201).applied
    return company


def test_a_redelivered_slice_applies_nothing_twice(engine: Engine) -> None:
    acme = _company(engine)
    issues = acme.issues(3)
    bulk_id = acme.bulk("assign", {"agentId": acme.agent}, issues)
    # The last item applied alone first (a slice refused whole falls back to this), but not
    # recorded: the slice records its stored outcome and applies it no more.
    alone = acme.applier.apply(
        Envelope(
            item_command_id(bulk_id, 2),
            acme.id,
            "user:test",
            item_command("assign", issues[2], {"agentId": acme.agent}),
        )
    )
    assert alone.applied
    envelope = acme.slice(bulk_id, [0, 1, 2], issues[0])
    first = acme.applier.apply(envelope)
    assert first.applied and first.body == {"bulkId": bulk_id, "applied": 2, "recorded": 3}
    again = acme.applier.apply(envelope)  # the same message, redelivered
    assert (again.applied, again.body) == (first.applied, first.body)
    other = acme.applier.apply(acme.slice(bulk_id, [0, 1, 2], issues[0]))  # sent again
    assert other.body == {"bulkId": bulk_id, "applied": 0, "recorded": 0}
    assert [_issue(engine, i).version for i in issues] == [2, 2, 2]
    assert len(_activity(engine, *issues)) == 2 * 3  # created, assigned: once each
    job = _job(engine, bulk_id)
    assert (job.status, job.succeeded, job.failed) == ("done", 3, 0)
    assert job.finished_at is not None
    assert all(
        item.outcome == {"ok": True, "status": "assigned"} for item in _items(engine, bulk_id)
    )


def test_a_refused_item_refuses_only_itself(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = _company(engine)
    issues = acme.issues(4)
    assert acme.apply(c.CancelIssue(issues[1], "already")).applied
    unlucky = issues[3]
    handler = HANDLERS[c.AssignIssue]

    def refuses_after_writing(cmd: Any, ctx: Any) -> Any:
        body = handler(cmd, ctx)  # the issue is written, its activity noted...
        if cmd.issue_id == unlucky:
            raise InvalidTransition(IssueStatus.ASSIGNED, "assign")  # ...then refused
        return body

    monkeypatch.setitem(HANDLERS, c.AssignIssue, refuses_after_writing)
    ids = [issues[0], issues[1], MISSING_ISSUE, unlucky, issues[2]]
    bulk_id = acme.bulk("assign", {"agentId": acme.agent}, ids)
    answer = acme.applier.apply(acme.slice(bulk_id, list(range(5)), issues[0]))
    assert answer.body == {"bulkId": bulk_id, "applied": 5, "recorded": 5}
    outcomes = [item.outcome for item in _items(engine, bulk_id)]
    assert [o["ok"] for o in outcomes] == [True, False, False, False, True]
    assert [o["error"]["code"] for o in outcomes if not o["ok"]] == [
        "frozen",
        "not_found",
        "invalid_transition",
    ]
    assert [_issue(engine, i).status for i in issues] == [
        "assigned",
        "cancelled",
        "assigned",
        "queued",
    ]
    assert _issue(engine, unlucky).version == 1
    assert [a.type for a in _activity(engine, unlucky)] == ["issue.created"]
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                sa.select(t.applied_commands.c.id, t.applied_commands.c.status).where(
                    t.applied_commands.c.id.in_([item_command_id(bulk_id, i) for i in range(5)])
                )
            ).all()
        )
    assert [stored[item_command_id(bulk_id, i)] for i in range(5)] == [
        "applied",
        "rejected",
        "rejected",
        "rejected",
        "applied",
    ]
    job = _job(engine, bulk_id)
    assert (job.status, job.succeeded, job.failed) == ("done", 2, 3)


def test_each_item_of_a_slice_has_its_own_time(engine: Engine) -> None:
    ticks = itertools.count()
    start = utc_now()

    def clock() -> datetime:
        return start + timedelta(seconds=next(ticks))

    acme = _company(engine, clock)
    issues = acme.issues(4)
    bulk_id = acme.bulk("assign", {"agentId": acme.agent}, issues)
    assert acme.applier.apply(acme.slice(bulk_id, [0, 1, 2, 3], issues[0])).applied
    with engine.connect() as conn:
        assigned = conn.execute(
            sa.select(t.activity.c.issue_id, t.activity.c.at).where(
                t.activity.c.issue_id.in_(issues), t.activity.c.type == "issue.assigned"
            )
        ).all()
        stored = conn.execute(
            sa.select(t.applied_commands.c.id, t.applied_commands.c.applied_at).where(
                t.applied_commands.c.id.in_([item_command_id(bulk_id, i) for i in range(4)])
            )
        ).all()
    at = dict(assigned)
    moments = [at[issue] for issue in issues]  # in the bulk's order
    assert len(set(moments)) == 4 and moments == sorted(moments)
    stored_at = dict(stored)
    applied_at = [stored_at[item_command_id(bulk_id, i)] for i in range(4)]
    assert len(set(applied_at)) == 4 and applied_at == sorted(applied_at)
    # Each item's outcome stored after its own change, and before the next item began.
    assert all(m < a for m, a in zip(moments, applied_at, strict=True))
    assert all(a < m for a, m in zip(applied_at, moments[1:], strict=False))
    assert [_issue(engine, i).updated_at for i in issues] == moments


def test_the_runner_sends_a_bulk_as_slices_of_one_shard_each(engine: Engine) -> None:
    acme = _company(engine)
    issues = acme.issues(12)
    bulk_id = acme.bulk("cancel", {"reason": "sliced"}, [*issues, issues[0], MISSING_ISSUE])
    sent: list[Envelope] = []

    def publish(env: Envelope) -> None:
        sent.append(env)
        acme.applier.apply(env)

    BulkRunner(engine, publish, shard_of, slice_items=3, chunk_items=5).run(bulk_id)
    assert all(isinstance(env.command, c.ApplyBulkSlice) for env in sent)
    slices = [env.command for env in sent if isinstance(env.command, c.ApplyBulkSlice)]
    ids = [*issues, issues[0], MISSING_ISSUE]
    for part in slices:
        assert len(part.positions) <= 3
        assert {shard_of(ids[p]) for p in part.positions} == {shard_of(part.issue_id)}
    assert sorted(p for part in slices for p in part.positions) == list(range(len(ids)))
    job = _job(engine, bulk_id)
    assert (job.status, job.succeeded, job.failed) == ("done", 12, 2)
    outcomes = [item.outcome for item in _items(engine, bulk_id)]
    assert outcomes[12]["error"]["code"] == "frozen"  # the second cancel of issues[0]
    assert outcomes[13]["error"]["code"] == "not_found"


def test_a_slice_refused_whole_falls_back_to_one_command_per_item(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = _company(engine)
    issues = acme.issues(3)
    bulk_id = acme.bulk("assign", {"agentId": acme.agent}, issues)

    def broken(cmd: Any, ctx: Any) -> Any:
        raise RuntimeError("a bug in the slice")

    monkeypatch.setitem(HANDLERS, c.ApplyBulkSlice, broken)
    sent: list[Envelope] = []

    def publish(env: Envelope) -> None:
        sent.append(env)
        acme.applier.apply(env)

    BulkRunner(engine, publish, shard_of).run(bulk_id)
    assert [type(env.command).__name__ for env in sent].count("AssignIssue") == 3
    job = _job(engine, bulk_id)
    assert (job.status, job.succeeded, job.failed) == ("done", 3, 0)
    assert [_issue(engine, i).status for i in issues] == ["assigned"] * 3
