"""The rules for issues: create, edit, assign, reassign, cancel, comment.

Every function takes the current state and ``now`` and returns a ``Decision``: the
issue after the change and the events that happened, one per transition, each with
the version it produced. Nothing here reads a clock or touches storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from domain.actors import Actor
from domain.change import Change, Decision
from domain.commands import CreateIssue, UpdateIssue
from domain.errors import AgentUnavailable, Frozen, InvalidRequest, NotEditable
from domain.events import (
    CommentPosted,
    IssueAssigned,
    IssueCancelled,
    IssueCreated,
    IssueReassigned,
    IssueUpdated,
)
from domain.model import AgentLoad, AgentStatus, Issue, RetryPolicy
from domain.priorities import Priority, label_priority
from domain.statuses import TERMINAL, IssueStatus, Trigger, check_transition
from domain.timing import is_due

__all__ = [
    "BUDGET_EDITABLE",
    "DISPATCHER",
    "NOT_BEFORE_EDITABLE",
    "PATCHABLE_FIELDS",
    "Decision",
    "assign_issue",
    "cancel_issue",
    "check_commentable",
    "create_issue",
    "dispatch_issue",
    "pick_agent",
    "reassign_issue",
    "update_issue",
]

S = IssueStatus

#: The only fields a PATCH may name.
PATCHABLE_FIELDS: frozenset[str] = frozenset(
    {
        "title",
        "description",
        "labels",
        "due_at",
        "budget_per_task_usd",
        "budget_include_subtasks",
        "priority",
        "not_before",
    }
)
#: The fields of ``budget`` (a PATCH naming one of them is a budget change).
BUDGET_FIELDS = {
    "budget_per_task_usd": "budget.perTaskUsd",
    "budget_include_subtasks": "budget.includeSubtasks",
}
#: Statuses in which the budget (``perTaskUsd``, ``includeSubtasks``) may still change
#: (before any run starts).
BUDGET_EDITABLE: frozenset[IssueStatus] = frozenset({S.QUEUED, S.ASSIGNED})
#: Statuses in which ``notBefore`` may change: while the issue waits for an agent.
NOT_BEFORE_EDITABLE: frozenset[IssueStatus] = frozenset({S.QUEUED})

#: Who gives queued work to agents (and a follow-up command's actor).
DISPATCHER = str(Actor.system("dispatcher"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def pick_agent(candidates: Sequence[AgentLoad], exclude: str | None = None) -> AgentLoad | None:
    """The dispatcher's choice: the least loaded available agent, ties by longest idle, then id."""
    available = [a for a in candidates if a.available and a.id != exclude]
    if not available:
        return None

    def key(a: AgentLoad) -> tuple[int, bool, datetime, str]:
        # Never given work counts as idle the longest; then the earliest idle_since wins.
        return (a.load, a.idle_since is not None, a.idle_since or _EPOCH, a.id)

    return min(available, key=key)


def create_issue(
    cmd: CreateIssue,
    *,
    company_id: str,
    now: datetime,
    actor: str,
    agent: AgentLoad | None,
    team_agents: Sequence[AgentLoad],
    blocked: bool,
) -> Decision:
    """A new issue, ``queued``; then assigned at once when an agent is named and active,
    or when it has a team, is not blocked, and one of the team's agents is available. An
    issue whose ``not_before`` is still to come stays ``queued`` (its agent or team set)
    until then: the dispatcher gives it out once it is due."""
    issue = Issue(
        id=cmd.issue_id,
        company_id=company_id,
        title=cmd.title,
        description=cmd.description,
        status=S.QUEUED,
        parent_id=cmd.parent_id,
        assigned_agent_id=cmd.assigned_agent_id,
        assigned_team_id=cmd.assigned_team_id,
        budget_per_task_usd=cmd.budget_per_task_usd,
        spent_usd=Decimal(0),
        due_at=cmd.due_at,
        labels=cmd.labels,
        dependencies=cmd.dependencies,
        current_run_id=None,
        created_at=now,
        updated_at=now,
        version=1,
        attempts=0,
        max_attempts=cmd.max_attempts,
        priority=_priority(cmd.priority, cmd.labels) or Priority.MEDIUM,
        not_before=cmd.not_before,
        retry_policy=(
            None
            if cmd.retry_base_s is None or cmd.retry_max_s is None
            else RetryPolicy(cmd.retry_base_s, cmd.retry_max_s)
        ),
        budget_include_subtasks=cmd.budget_include_subtasks,
    )
    change = Change(issue, now, actor, None)
    change.events.append(
        IssueCreated(issue.id, None, S.QUEUED, 1, actor, not_before=issue.not_before)
    )
    change.states.append(issue)
    if not is_due(issue, now):
        return change.decision()
    if agent is not None:
        if agent.status is AgentStatus.ACTIVE:
            change.move(S.ASSIGNED, Trigger.ASSIGN, IssueAssigned)
    elif cmd.assigned_team_id is not None and not blocked:
        _dispatch(change, team_agents, exclude=None)
    return change.decision()


def _dispatch(change: Change, team_agents: Sequence[AgentLoad], exclude: str | None) -> None:
    """Hand a queued team issue to an available agent of the team, if there is one."""
    chosen = pick_agent(team_agents, exclude=exclude)
    if chosen is not None:
        change.move(
            S.ASSIGNED,
            Trigger.DISPATCH,
            IssueAssigned,
            actor=DISPATCHER,
            assigned_agent_id=chosen.id,
        )


def dispatch_issue(
    issue: Issue,
    *,
    waiting_agent: AgentLoad | None,
    team_agents: Sequence[AgentLoad],
    now: datetime,
) -> Decision:
    """A queued issue gets an agent if it can: the agent it waits for, once active again;
    else the least loaded available agent of its team. Anything else (an issue whose
    ``not_before`` is still to come, too): no change."""
    change = Change(issue, now, DISPATCHER, None)
    if issue.status is not S.QUEUED or not is_due(issue, now):
        return change.decision()
    if issue.assigned_agent_id is not None:
        if waiting_agent is not None and waiting_agent.status is AgentStatus.ACTIVE:
            change.move(S.ASSIGNED, Trigger.ASSIGN, IssueAssigned)
    elif issue.assigned_team_id is not None:
        _dispatch(change, team_agents, exclude=None)
    return change.decision()


def _priority(given: str | None, labels: tuple[str, ...]) -> Priority | None:
    """The priority asked for, else the one a ``priority:*`` label names."""
    return Priority(given) if given is not None else label_priority(labels)


def update_issue(issue: Issue, cmd: UpdateIssue, *, now: datetime, actor: str) -> Decision:
    """Apply a PATCH. Terminal issues are frozen; the budget is fixed once a run has started."""
    if issue.status in TERMINAL:
        raise Frozen(current_status=issue.status)
    unknown = cmd.fields_set - PATCHABLE_FIELDS
    if unknown:
        raise InvalidRequest.at([sorted(unknown)[0]], "this field cannot be changed by PATCH")
    budget_named = [BUDGET_FIELDS[name] for name in sorted(cmd.fields_set & BUDGET_FIELDS.keys())]
    if budget_named and issue.status not in BUDGET_EDITABLE:
        raise NotEditable(
            f"{budget_named[0]} cannot change once the issue is {issue.status}",
            currentStatus=str(issue.status),
        )
    if "not_before" in cmd.fields_set and issue.status not in NOT_BEFORE_EDITABLE:
        raise NotEditable(
            f"notBefore can change only while the issue is queued, not {issue.status}",
            currentStatus=str(issue.status),
        )
    wanted = {name: getattr(cmd, name) for name in cmd.fields_set}
    if "priority" in wanted or "labels" in wanted:
        # A priority:* label in new labels sets the priority unless the PATCH names one.
        priority = _priority(wanted.pop("priority", None), wanted.get("labels") or ())
        if priority is not None:
            wanted["priority"] = priority
    changes = {name: value for name, value in wanted.items() if value != getattr(issue, name)}
    change = Change(issue, now, actor, None)
    if changes:
        change.edit(IssueUpdated, **changes)
    return change.decision()


def assign_issue(issue: Issue, agent: AgentLoad, *, now: datetime, actor: str) -> Decision:
    """``queued``/``handoff`` → ``assigned``. The agent must be active; its inbox is not capped."""
    check_transition(issue.status, S.ASSIGNED, Trigger.ASSIGN)
    if agent.status is not AgentStatus.ACTIVE:
        raise AgentUnavailable(f"agent {agent.id} is {agent.status}")
    change = Change(issue, now, actor, None)
    change.move(S.ASSIGNED, Trigger.ASSIGN, IssueAssigned, assigned_agent_id=agent.id)
    return change.decision()


def reassign_issue(
    issue: Issue,
    *,
    to_agent: AgentLoad | None,
    to_team_id: str | None,
    team_agents: Sequence[AgentLoad],
    now: datetime,
    actor: str,
    reason: str | None,
) -> Decision:
    """Move the issue to another agent, or back to a team's queue.

    A running issue first goes back to ``queued`` (its run is ended by the caller), then
    is assigned to the new agent in the same command when that agent is active. From
    ``assigned`` or ``handoff``: to an active agent → ``assigned``; to a paused one →
    ``queued`` with the agent set, waiting for it. To a team: ``queued`` for that team,
    then dispatched at once when one of its agents (not the previous one) is available.
    """
    change = Change(issue, now, actor, reason)
    previous_agent = issue.assigned_agent_id
    active = to_agent is not None and to_agent.status is AgentStatus.ACTIVE
    team = to_team_id or issue.assigned_team_id
    if issue.status is S.RUNNING:
        change.move(
            S.QUEUED,
            Trigger.REASSIGN,
            IssueReassigned,
            current_run_id=None,
            assigned_agent_id=to_agent.id if to_agent else None,
            assigned_team_id=team,
        )
        if active:
            change.move(S.ASSIGNED, Trigger.ASSIGN, IssueAssigned)
    elif to_agent is not None:
        target = S.ASSIGNED if active else S.QUEUED
        change.move(target, Trigger.REASSIGN, IssueReassigned, assigned_agent_id=to_agent.id)
    else:
        change.move(
            S.QUEUED,
            Trigger.REASSIGN,
            IssueReassigned,
            assigned_agent_id=None,
            assigned_team_id=team,
        )
    if to_agent is None:
        _dispatch(change, team_agents, exclude=previous_agent)
    return change.decision()


def cancel_issue(issue: Issue, *, now: datetime, actor: str, reason: str | None) -> Decision:
    """Any non-terminal status → ``cancelled``; a running run is ended by the caller."""
    change = Change(issue, now, actor, reason)
    change.move(S.CANCELLED, Trigger.CANCEL, IssueCancelled, current_run_id=None)
    return change.decision()


def check_commentable(issue: Issue) -> CommentPosted:
    """Comments are refused on terminal issues; they do not change the version."""
    if issue.status in TERMINAL:
        raise Frozen(current_status=issue.status)
    return CommentPosted(issue.id, issue.status, issue.status, issue.version, "")
