"""Builders shared by the unit tests: issues and agents in a known state, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from domain.events import IssueEvent
from domain.issues import Decision
from domain.model import AgentLoad, AgentStatus, Issue
from domain.statuses import IssueStatus

S = IssueStatus

#: The fixed "now" of every test: nothing here reads a clock.
NOW = datetime(2026, 4, 11, 8, 14, tzinfo=UTC)
#: When an issue built by ``make_issue`` was created and last touched.
EARLIER = NOW - timedelta(hours=1)

USER = "user:ada"
DISPATCHER = "system:dispatcher"
PREVIOUS_AGENT = "agt_previous"
TEAM = "tm_core"
RUN = "run_1"

#: Statuses in which an issue has an agent attached.
_WITH_AGENT = frozenset({S.ASSIGNED, S.RUNNING, S.REVIEW, S.HANDOFF, S.DONE, S.FAILED, S.CANCELLED})


def make_issue(status: IssueStatus = S.QUEUED, **overrides: object) -> Issue:
    """A plausible issue in ``status``: a team, an agent once past ``queued``, a run if
    ``running``; version 5 unless it is a fresh queued issue (version 1)."""
    fields: dict[str, object] = {
        "id": "iss_1",
        "company_id": "cmp_1",
        "title": "Rewrite the hero section",
        "description": "Short, punchy.",
        "status": status,
        "parent_id": None,
        "assigned_agent_id": PREVIOUS_AGENT if status in _WITH_AGENT else None,
        "assigned_team_id": TEAM,
        "budget_per_task_usd": Decimal("1.50"),
        "spent_usd": Decimal(0),
        "due_at": None,
        "labels": ("marketing",),
        "dependencies": (),
        "current_run_id": RUN if status is S.RUNNING else None,
        "created_at": EARLIER,
        "updated_at": EARLIER,
        "version": 1 if status is S.QUEUED else 5,
        "attempts": 0,
        "max_attempts": 3,
    }
    fields.update(overrides)
    return Issue(**fields)  # type: ignore[arg-type]


def make_agent(
    agent_id: str = "agt_1",
    *,
    status: AgentStatus = AgentStatus.ACTIVE,
    capacity: int = 1,
    load: int = 0,
    idle_since: datetime | None = None,
) -> AgentLoad:
    return AgentLoad(
        id=agent_id, status=status, capacity=capacity, load=load, idle_since=idle_since
    )


def paused(agent_id: str = "agt_paused") -> AgentLoad:
    return make_agent(agent_id, status=AgentStatus.PAUSED)


def full(agent_id: str = "agt_full") -> AgentLoad:
    return make_agent(agent_id, capacity=2, load=2)


def assert_events_are_contiguous(before: Issue | None, decision: Decision) -> None:
    """The decision's events chain: versions ``before.version + 1 ..`` up to the issue's
    version with no gap, each starting in the status the previous one ended in."""
    events: tuple[IssueEvent, ...] = decision.events
    assert not any(e.note for e in events), events  # a step through the table is no note
    first_version = 1 if before is None else before.version + 1
    assert [e.version for e in events] == list(range(first_version, decision.issue.version + 1))
    if not events:
        assert before is not None
        assert decision.issue == before
        return
    assert events[-1].version == decision.issue.version
    assert events[-1].to_status is decision.issue.status
    assert events[0].from_status is (None if before is None else before.status)
    for earlier, later in pairwise(events):
        assert later.from_status is earlier.to_status
    assert all(e.issue_id == decision.issue.id for e in events)
