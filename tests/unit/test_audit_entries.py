"""Company entries (``domain.audit``): what a change shows, secrets never, and how they are
stored next to an issue's entries (migration 0014) on the embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from domain.audit import REDACTED, AuditSubject, AuditType, audited, field_changes
from service import migrate
from service.commands.context import Context
from service.ids import new_id
from service.reads.activity import ActivityFilters, Scope, list_activity
from service.settings import Settings
from service.store import tables as t
from service.store.activity import insert_activity
from service.store.engine import make_engine

NOW = datetime(2026, 4, 13, 9, 0, tzinfo=UTC)


def test_a_creation_shows_every_field_from_null_and_a_removal_every_field_to_null() -> None:
    body = {"name": "w", "capacity": 1}
    assert field_changes(None, body) == {
        "name": {"before": None, "after": "w"},
        "capacity": {"before": None, "after": 1},
    }
    assert field_changes(body, None) == {
        "name": {"before": "w", "after": None},
        "capacity": {"before": 1, "after": None},
    }


def test_a_change_shows_only_the_fields_that_differ() -> None:
    before = {"name": "w", "teamIds": ["tm_1"], "capacity": 1}
    after = {"name": "w", "teamIds": [], "capacity": 1}
    assert field_changes(before, after) == {"teamIds": {"before": ["tm_1"], "after": []}}
    assert field_changes(before, dict(before)) == {}


def test_a_secret_is_never_shown_only_that_it_changed() -> None:
    changes = field_changes({"secret": "whsec_a"}, {"secret": "whsec_b", "token": "aq_x"})
    assert changes == {
        "secret": {"before": REDACTED, "after": REDACTED},
        "token": {"before": None, "after": REDACTED},
    }


def test_only_the_audited_fields_of_a_subject_count() -> None:
    agent = {"id": "agt_1", "name": "w", "activeRuns": 3, "status": "active"}
    assert audited(AuditSubject.AGENT, agent) == {
        "name": "w",
        "status": "active",
        "capacity": None,
        "teamIds": None,
    }
    assert audited(AuditSubject.TOKEN, None) is None


def test_each_entry_type_names_its_subject_before_the_dot() -> None:
    assert AuditType.AGENT_PAUSED.subject is AuditSubject.AGENT
    assert AuditType.WEBHOOK_ENDPOINT_DISABLED.subject is AuditSubject.WEBHOOK_ENDPOINT
    assert AuditType.BUDGET_SET.subject is AuditSubject.BUDGET
    assert {kind.subject for kind in AuditType} == set(AuditSubject)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings)
    eng = make_engine(settings, pool_size=1)
    yield eng
    eng.dispose()


def _company(engine: Engine) -> str:
    company_id = new_id("cmp")
    with engine.begin() as conn:
        conn.execute(t.companies.insert().values(id=company_id, name="Acme", created_at=NOW))
    return company_id


def test_the_budget_helper_writes_one_budget_set_entry_in_the_commands_transaction(
    engine: Engine,
) -> None:
    company_id = _company(engine)
    with engine.begin() as conn:
        ctx = Context(conn, company_id, "user:tok_1", NOW, "cmd_1")
        assert ctx.audit_budget_set("team", "tm_1", None, {"monthlyUsd": "100"})
        assert not ctx.audit_budget_set("team", "tm_1", {"a": 1}, {"a": 1})  # nothing changed
        insert_activity(conn, ctx.activity)
    with engine.connect() as conn:
        page = list_activity(conn, company_id, ActivityFilters(scope=Scope.COMPANY), None, 50)
        issue_page = list_activity(conn, company_id, ActivityFilters(), None, 50)
    (entry,) = page["data"]
    assert entry["type"] == "budget.set" and entry["subjectType"] == "budget"
    assert entry["subjectId"] == "team:tm_1" and entry["actor"] == "user:tok_1"
    assert entry["changes"] == {"monthlyUsd": {"before": None, "after": "100"}}
    assert entry["issueId"] is None and entry["commandId"] == "cmd_1"
    assert issue_page["data"] == []  # the default scope: an issue's entries


def test_company_entries_get_stream_positions_after_the_migration(engine: Engine) -> None:
    company_id = _company(engine)
    with engine.begin() as conn:
        ctx = Context(conn, company_id, "user:x", NOW, "cmd_2")
        ctx.audit(AuditType.TEAM_CREATED, "tm_1", None, {"name": "a"})
        ctx.audit(AuditType.TEAM_CREATED, "tm_2", None, {"name": "b"})
        insert_activity(conn, ctx.activity)
    with engine.connect() as conn:
        positions = conn.execute(
            sa.select(t.activity.c.stream_pos)
            .where(t.activity.c.company_id == company_id)
            .order_by(t.activity.c.subject_id)
        ).scalars()
        assert list(positions) == [1, 2]  # the SQLite trigger, made again by 0014


def test_an_entry_of_no_issue_must_name_its_subject(engine: Engine) -> None:
    company_id = _company(engine)
    row = {
        "id": new_id("act"),
        "company_id": company_id,
        "issue_id": None,
        "at": NOW,
        "type": "team.created",
        "to_status": None,
        "actor": "user:x",
        "version": None,
    }
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(t.activity.insert().values(**row))
