"""A routine's firing through the real pipeline on the embedded store (SQLite), with the
clock set: the tick's issue is created once, a refused create still moves the routine on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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
from workers.scheduler import fire_command_id

NOW = datetime(2026, 4, 13, 9, 0, 5, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings)
    eng = make_engine(settings, pool_size=1)
    yield eng
    eng.dispose()


@pytest.fixture
def apply(engine: Engine) -> Any:
    applier = Applier(engine, lambda _to, _outcome: None, clock=lambda: NOW)

    def run(command: Any, company_id: str, command_id: str | None = None) -> Outcome:
        env = Envelope(command_id or new_id("cmd"), company_id, "user:test", command)
        return applier.apply(env)

    return run


def _routine(apply: Any, engine: Engine, template: dict[str, Any]) -> tuple[str, str, datetime]:
    company_id, routine_id = new_id("cmp"), new_id("rtn")
    assert apply(c.CreateCompany(company_id, "Acme"), company_id).applied
    created = apply(c.CreateRoutine(routine_id, "daily", "0 9 * * *", "UTC", template), company_id)
    assert created.applied, created.body
    due = datetime(2026, 4, 13, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(t.routines.update().values(next_run_at=due))
    return company_id, routine_id, due


def _fire(apply: Any, company_id: str, routine_id: str, due: datetime) -> Outcome:
    command_id = fire_command_id(routine_id, due)
    outcome: Outcome = apply(c.FireRoutine(routine_id, due), company_id, command_id)
    return outcome


def test_a_due_tick_creates_its_issue_once_however_often_it_is_fired(
    apply: Any, engine: Engine
) -> None:
    company_id, routine_id, due = _routine(apply, engine, {"title": "Report {date}"})
    first = _fire(apply, company_id, routine_id, due)
    again = _fire(apply, company_id, routine_id, due)
    assert first.applied and first.body["fired"] is True
    assert again.body == first.body  # the stored outcome: the same command id
    with engine.connect() as conn:
        titles = conn.execute(sa.select(t.issues.c.title)).scalars().all()
        next_run_at = conn.execute(sa.select(t.routines.c.next_run_at)).scalar_one()
    assert titles == ["Report 2026-04-13"]
    assert next_run_at == due + timedelta(days=1)
    # Fired again under another id (a second scheduler's late copy): no longer due.
    late = apply(c.FireRoutine(routine_id, due), company_id)
    assert late.body == {"routineId": routine_id, "fired": False}


def test_a_tick_whose_issue_is_refused_creates_nothing_and_the_routine_moves_on(
    apply: Any, engine: Engine
) -> None:
    company_id, routine_id, due = _routine(apply, engine, {"title": "Report {date}"})
    with engine.begin() as conn:  # its agent gone since (no route deletes one: a stand-in)
        conn.execute(
            t.routines.update().values(template={"title": "x", "assignedAgentId": "agt_gone"})
        )
    outcome = _fire(apply, company_id, routine_id, due)
    assert outcome.applied and outcome.body["fired"] is False
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.issues)).scalar_one() == 0
        assert conn.execute(sa.select(t.routines.c.next_run_at)).scalar_one() > NOW
