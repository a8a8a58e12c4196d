"""Monthly budgets through the real pipeline on the embedded store (SQLite), with the clock
set: a cap spent in one month refuses claims until the next; thresholds are announced once
each per month and cap, and again in a new month or for a new cap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service import migrate
from service.commands.envelope import Envelope, Outcome
from service.commands.pipeline import Applier
from service.ids import new_id
from service.settings import Settings
from service.store import tables as t
from service.store.engine import make_engine

#: An hour before the month turns (UTC).
LATE_NOVEMBER = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings)
    eng = make_engine(settings, pool_size=1)
    yield eng
    eng.dispose()


class World:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.now = LATE_NOVEMBER
        self.applier = Applier(engine, lambda _to, _outcome: None, clock=lambda: self.now)
        self.company = new_id("cmp")
        self.agent = new_id("agt")
        assert self.apply(c.CreateCompany(self.company, "Acme")).applied
        assert self.apply(c.CreateAgent(self.agent, "writer", capacity=5)).applied

    def apply(self, command: Any) -> Outcome:
        env = Envelope(new_id("cmd"), self.company, "user:test", command)
        return self.applier.apply(env)

    def claimed(self) -> dict[str, Any]:
        """A new issue of the agent's, claimed."""
        issue = new_id("iss")
        assert self.apply(c.CreateIssue(issue, "work", assigned_agent_id=self.agent)).applied
        outcome = self.claim()
        assert outcome.http_status == 200, outcome.body
        body: dict[str, Any] = outcome.body
        return body

    def claim(self) -> Outcome:
        return self.apply(c.ClaimWork(self.agent, new_id("run")))

    def report(self, claimed: dict[str, Any], usd: str) -> dict[str, Any]:
        command = c.ReportCost(
            claimed["issue"]["id"],
            claimed["run"]["id"],
            claimed["lease"]["token"],
            new_id("cost"),
            Decimal(usd),
        )
        outcome = self.apply(command)
        assert outcome.http_status == 200, outcome.body
        body: dict[str, Any] = outcome.body
        return body

    def thresholds(self) -> list[str]:
        a = t.activity.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(a.reason)
                .where(a.company_id == self.company, a.type == "budget.threshold")
                .order_by(a.at, a.id)
            )
            return [str(r) for r in rows.scalars()]

    def spend(self) -> dict[str, int]:
        s = t.budget_spend.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(s.month, s.spent_micros).where(
                    s.company_id == self.company, s.scope == "agent"
                )
            )
            return {str(month): int(micros) for month, micros in rows}


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


def test_a_cap_spent_in_a_month_refuses_claims_until_the_month_turns(world: World) -> None:
    assert world.apply(c.SetBudget("agent", world.agent, Decimal(10))).applied
    first = world.claimed()
    stopped = world.report(first, "10")
    assert stopped["stop"] is True and stopped["budgetScope"] == "agent"
    world.apply(c.CreateIssue(new_id("iss"), "more", assigned_agent_id=world.agent))
    refused = world.claim()
    assert refused.http_status == 409 and refused.body["code"] == "budget_exhausted"
    assert refused.body["month"] == "2026-11"
    world.now = datetime(2026, 12, 1, tzinfo=UTC)  # midnight UTC: a new month
    assert world.claim().http_status == 200
    assert world.spend() == {"2026-11": 10_000_000}


def test_thresholds_are_announced_once_per_month_and_again_in_the_next(world: World) -> None:
    assert world.apply(c.SetBudget("agent", world.agent, Decimal(10))).applied
    run = world.claimed()
    for usd in ("5", "0.5", "0.5"):  # 50 %, 55 %, 60 %: 50 % once
        world.report(run, usd)
        world.now += timedelta(minutes=1)
    assert len(world.thresholds()) == 1
    world.now = datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)
    world.report(run, "6")  # the new month's spend: 60 %
    thresholds = world.thresholds()
    assert len(thresholds) == 2 and "for 2026-12" in thresholds[-1]
    assert world.spend() == {"2026-11": 6_000_000, "2026-12": 6_000_000}


def test_a_new_cap_announces_its_thresholds_afresh_and_the_same_cap_does_not(
    world: World,
) -> None:
    assert world.apply(c.SetBudget("agent", world.agent, Decimal(10))).applied
    run = world.claimed()
    world.report(run, "6")  # 50 %
    assert world.apply(c.SetBudget("agent", world.agent, Decimal(10))).applied  # unchanged
    world.report(run, "0.1")
    assert len(world.thresholds()) == 1
    assert world.apply(c.SetBudget("agent", world.agent, Decimal(7))).applied  # 6.1 of 7
    world.report(run, "0.1")  # 6.2 of 7: 50 % and 80 % of the new cap
    assert len(world.thresholds()) == 3


def test_a_cap_set_mid_month_sees_the_months_spend_so_far(world: World) -> None:
    run = world.claimed()
    world.report(run, "3")
    budget = world.apply(c.SetBudget("agent", world.agent, Decimal(4)))
    assert budget.body["spent"] == {"usd": 3} and budget.body["exhausted"] is False
    assert world.report(run, "1")["stop"] is True  # 4 of 4
