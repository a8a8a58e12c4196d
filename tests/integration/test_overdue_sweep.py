"""The overdue sweep on PostgreSQL: one ``issue.overdue`` entry and webhook event per due
time, however many schedulers sweep and however often they restart.

The schedulers here lead regardless of the advisory lock (as two would if leadership were
ever lost and won twice at once): the command id derived from the issue and its due time is
what keeps the notice single.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.commands.pipeline import Applier
from service.ids import new_id
from service.store import tables as t
from tests.integration.conftest import Apply
from workers.scheduler import LeaderLock, Scheduler


class AlwaysLeader(LeaderLock):
    def held(self) -> bool:
        return True


def _scheduler(engine: Engine, applier: Applier) -> Scheduler:
    return Scheduler(engine, applier.apply, 1.0, leader=AlwaysLeader(engine))


def _count(engine: Engine, table: sa.Table, issue_id: str) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(
            table.c.issue_id == issue_id, table.c.type == "issue.overdue"
        )
        return int(conn.execute(query).scalar_one())


def test_two_schedulers_and_a_restart_note_an_overdue_issue_once(
    engine: Engine, applier: Applier, apply: Apply, company: str
) -> None:
    hook = c.CreateWebhook(new_id("whk"), "http://127.0.0.1:9/x", ("issue.overdue",), "whsec_x")
    assert apply(hook, company).applied
    issue_id = new_id("iss")
    due = datetime.now(UTC) - timedelta(seconds=1)
    assert apply(c.CreateIssue(issue_id, "late", due_at=due), company).applied
    first, second = _scheduler(engine, applier), _scheduler(engine, applier)
    for scheduler in (first, second, first, second):
        with engine.connect() as conn:
            scheduler.mark_overdue(conn)
    restarted = _scheduler(engine, applier)
    with engine.connect() as conn:
        restarted.mark_overdue(conn)
        assert issue_id not in {row.id for row in restarted.overdue_issues(conn)}
    assert _count(engine, t.activity, issue_id) == 1
    assert _count(engine, t.webhook_events, issue_id) == 1


def test_a_finished_or_not_yet_due_issue_is_not_swept(
    engine: Engine, applier: Applier, apply: Apply, company: str
) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    done_with, not_yet = new_id("iss"), new_id("iss")
    assert apply(c.CreateIssue(done_with, "cancelled", due_at=past), company).applied
    assert apply(c.CancelIssue(done_with), company).applied
    future = datetime.now(UTC) + timedelta(hours=1)
    assert apply(c.CreateIssue(not_yet, "later", due_at=future), company).applied
    with engine.connect() as conn:
        swept = {row.id for row in _scheduler(engine, applier).overdue_issues(conn)}
    assert done_with not in swept and not_yet not in swept
