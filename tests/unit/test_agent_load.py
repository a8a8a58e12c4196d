"""``repo.agent_load``: the one query of an agent and what it holds, on a migrated SQLite.

Its load counts the issues the dispatcher weighs (``assigned`` and ``running``), its running
count what its capacity caps (``running``); everything that needs either reads it there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.model import AgentLoad, AgentStatus, RetryPolicy
from domain.statuses import IssueStatus
from service.migrate import upgrade
from service.reads.claims import worth_claiming
from service.reads.org import agent_body
from service.settings import Settings
from service.store import repo
from service.store import tables as t
from workers.scheduler import Scheduler

NOW = datetime(2026, 4, 11, 8, 0, tzinfo=UTC)
S = IssueStatus


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    settings = Settings(database_url=None, data_dir=tmp_path)
    upgrade(settings)
    engine = sa.create_engine(settings.sqlalchemy_url)
    with engine.begin() as connection:
        connection.execute(t.companies.insert().values(id="cmp_1", name="Acme", created_at=NOW))
        connection.execute(
            t.teams.insert().values(id="tm_1", company_id="cmp_1", name="t", created_at=NOW)
        )
        yield connection
    engine.dispose()


def _agent(conn: Connection, agent_id: str, capacity: int, status: AgentStatus) -> None:
    conn.execute(
        t.agents.insert().values(
            id=agent_id,
            company_id="cmp_1",
            name=agent_id,
            status=status.value,
            capacity=capacity,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    conn.execute(t.agent_teams.insert().values(agent_id=agent_id, team_id="tm_1"))


def _issues(conn: Connection, agent_id: str | None, *statuses: IssueStatus) -> None:
    for i, status in enumerate(statuses):
        conn.execute(
            t.issues.insert().values(
                id=f"iss_{agent_id}_{i}",
                company_id="cmp_1",
                title="t",
                status=status.value,
                assigned_agent_id=agent_id,
                assigned_team_id="tm_1",
                labels=[],
                dependencies=[],
                created_at=NOW,
                updated_at=NOW,
                version=1,
                max_attempts=3,
            )
        )


def test_load_counts_assigned_and_running_and_running_counts_running(conn: Connection) -> None:
    _agent(conn, "agt_a", 3, AgentStatus.ACTIVE)
    _agent(conn, "agt_b", 1, AgentStatus.PAUSED)
    _agent(conn, "agt_c", 2, AgentStatus.ACTIVE)
    _issues(conn, "agt_a", S.ASSIGNED, S.RUNNING, S.RUNNING, S.REVIEW, S.DONE, S.HANDOFF)
    _issues(conn, "agt_b", S.QUEUED, S.FAILED)
    rows = conn.execute(repo.agent_load().order_by(t.agents.c.id)).all()
    assert [(r.id, r.load, r.running) for r in rows] == [
        ("agt_a", 3, 2),
        ("agt_b", 0, 0),
        ("agt_c", 0, 0),
    ]
    assert repo.agent_loads(conn, ["agt_c", "agt_a"]) == [
        AgentLoad("agt_a", AgentStatus.ACTIVE, 3, 3, None),
        AgentLoad("agt_c", AgentStatus.ACTIVE, 2, 0, None),
    ]
    assert repo.agent_loads(conn, ["agt_b"], for_update=True)[0].status is AgentStatus.PAUSED
    assert repo.claimer(conn, "cmp_1", "agt_a") == (
        AgentLoad("agt_a", AgentStatus.ACTIVE, 3, 3, None),
        2,
    )
    assert repo.claimer(conn, "cmp_2", "agt_a") is None
    assert agent_body(conn, "cmp_1", "agt_a")["activeRuns"] == 2


def test_the_claim_poll_and_the_scheduler_read_the_same_counts(conn: Connection) -> None:
    _agent(conn, "agt_full", 2, AgentStatus.ACTIVE)
    _agent(conn, "agt_free", 3, AgentStatus.ACTIVE)
    _agent(conn, "agt_paused", 5, AgentStatus.PAUSED)
    _issues(conn, "agt_full", S.RUNNING, S.RUNNING)
    _issues(conn, "agt_free", S.ASSIGNED)
    _issues(conn, None, S.QUEUED, S.QUEUED, S.QUEUED)
    # At capacity: the claim command answers 409, so the poll lets it through.
    assert worth_claiming(conn, "cmp_1", "agt_full")
    # Not at capacity, and its team has queued work.
    assert worth_claiming(conn, "cmp_1", "agt_free")
    # Only agt_free has free slots (3 - 1 assigned): two of the three queued are dispatched.
    queued = Scheduler(conn.engine, lambda envelope: None, 1.0).dispatchable(conn)
    assert len(queued) == 2


def test_issues_read_by_position_are_the_issues_read_by_name(conn: Connection) -> None:
    _agent(conn, "agt_a", 3, AgentStatus.ACTIVE)
    _issues(conn, "agt_a", S.ASSIGNED, S.RUNNING)
    later = datetime(2026, 4, 11, 9, tzinfo=UTC)
    conn.execute(
        t.issues.update().values(
            budget_micros=1_500_000,
            spent_micros=250_000,
            not_before=later,
            retry_base_s=5,
            retry_max_s=50,
        )
    )
    rows = conn.execute(sa.select(t.issues).order_by(t.issues.c.id)).all()
    by_name = [repo.issue_from_row(r) for r in rows]
    assert repo.issues_from_rows(rows) == by_name
    assert by_name[0].budget_per_task_usd == Decimal("1.5")
    assert by_name[0].not_before == later
    assert by_name[0].retry_policy == RetryPolicy(5, 50)
    # Columns in any other order (a join, a CTE) are read by name.
    backward = sa.select(*reversed(t.issues.c)).order_by(t.issues.c.id)
    picked = conn.execute(backward).all()
    assert picked[0]._fields[0] == list(t.issues.c)[-1].name
    assert repo.issues_from_rows(picked) == by_name
