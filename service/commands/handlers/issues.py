"""Command handlers for issues: create, update, assign, reassign, cancel, comment."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain import issues as rules
from domain.actors import Actor
from domain.change import Decision
from domain.commands import (
    AssignIssue,
    CancelIssue,
    CreateIssue,
    DispatchIssue,
    MarkOverdue,
    PostComment,
    ReassignIssue,
    UpdateIssue,
)
from domain.errors import InvalidRequest
from domain.model import AgentLoad, AgentStatus, Issue
from domain.runs import ExitReason, end_run_by_others
from domain.statuses import TERMINAL, IssueStatus
from domain.timing import is_due, overdue_event
from service.answers.issues import comment_json
from service.commands.approval_events import announce, expire_with_run
from service.commands.context import Context, Reply
from service.commands.handlers.dispatch import choose_agent, offer_work
from service.commands.registry import handles
from service.store import repo
from service.store import runs as runs_db
from service.store import tables as t

__all__ = [
    "assign_issue",
    "cancel_issue",
    "create_issue",
    "mark_overdue",
    "post_comment",
    "reassign_issue",
    "update_issue",
]


def _agent(ctx: Context, agent_id: str, loc: list[str | int]) -> AgentLoad:
    """The named agent for an explicit (re)assignment. Only its status matters there (an
    agent's inbox is not capped), so its load is not counted and its row is not locked:
    10,000 assigns to one agent stay independent of each other."""
    row = ctx.require(t.agents, agent_id, loc, "agent")
    return AgentLoad(row.id, AgentStatus(row.status), row.capacity, 0, row.idle_since)


@handles(CreateIssue)
def create_issue(cmd: CreateIssue, ctx: Context) -> dict[str, Any]:
    agent = None
    if cmd.assigned_agent_id is not None:
        agent = _agent(ctx, cmd.assigned_agent_id, ["assignedAgentId"])
    if cmd.assigned_team_id is not None:
        ctx.require(t.teams, cmd.assigned_team_id, ["assignedTeamId"], "team")
    if cmd.parent_id is not None:
        parent = ctx.require(t.issues, cmd.parent_id, ["parentId"], "issue")
        if parent.status in TERMINAL:
            raise InvalidRequest.at(["parentId"], f"parent {cmd.parent_id} is {parent.status}")
    blocked = False
    for i, dep in enumerate(cmd.dependencies):
        row = ctx.require(t.issues, dep, ["dependencies", i], "issue")
        blocked = blocked or row.status != IssueStatus.DONE.value
    later = cmd.not_before is not None and cmd.not_before > ctx.now  # dispatched once due
    team_agents = (
        [] if agent is not None or blocked or later else choose_agent(ctx, cmd.assigned_team_id)
    )
    decision = rules.create_issue(
        cmd,
        company_id=ctx.company_id,
        now=ctx.now,
        actor=ctx.actor,
        agent=agent,
        team_agents=team_agents,
        blocked=blocked,
    )
    return ctx.commit_decision(None, decision)


@handles(UpdateIssue)
def update_issue(cmd: UpdateIssue, ctx: Context) -> dict[str, Any]:
    issue = ctx.issue_for_update(cmd.issue_id)
    decision = rules.update_issue(issue, cmd, now=ctx.now, actor=ctx.actor)
    body = ctx.commit_decision(issue, decision)
    after = decision.issue
    if after.not_before != issue.not_before and is_due(after, ctx.now):
        ctx.follow_ups.append(DispatchIssue(issue.id))  # due now: given out at once
    return body


@handles(MarkOverdue)
def mark_overdue(cmd: MarkOverdue, ctx: Context) -> Any:
    """The scheduler found the issue past ``due_at``: one ``issue.overdue`` entry and webhook
    event (the command id is derived from the issue and its due time: once per due time)."""
    issue = ctx.issue_for_update(cmd.issue_id)
    event = overdue_event(issue, due_at=cmd.due_at)
    if event is None:
        return Reply(204)
    # The sweep read the database's clock; the entry is never dated before the due time.
    ctx.now = max(ctx.now, cmd.due_at)
    ctx.record([event])
    ctx.decisions.append(Decision(issue, (event,), (issue,)))
    return ctx.issue_body(issue)


@handles(AssignIssue)
def assign_issue(cmd: AssignIssue, ctx: Context) -> dict[str, Any]:
    issue = ctx.issue_for_update(cmd.issue_id)
    agent = _agent(ctx, cmd.agent_id, ["agentId"])
    decision = rules.assign_issue(issue, agent, now=ctx.now, actor=ctx.actor)
    return ctx.commit_decision(issue, decision)


@handles(ReassignIssue)
def reassign_issue(cmd: ReassignIssue, ctx: Context) -> dict[str, Any]:
    issue = ctx.issue_for_update(cmd.issue_id)
    to_agent = None
    if cmd.to_agent_id is not None:
        to_agent = _agent(ctx, cmd.to_agent_id, ["toAgentId"])
    if cmd.to_team_id is not None:
        ctx.require(t.teams, cmd.to_team_id, ["toTeamId"], "team")
    team = cmd.to_team_id or issue.assigned_team_id
    # A blocked issue waits in its team's queue: never dispatched until unblocked; one whose
    # notBefore is still to come, until then (the scheduler dispatches it).
    dispatchable = (
        to_agent is None and is_due(issue, ctx.now) and not repo.blocked_by(ctx.conn, [issue.id])
    )
    decision = rules.reassign_issue(
        issue,
        to_agent=to_agent,
        to_team_id=cmd.to_team_id,
        team_agents=choose_agent(ctx, team, exclude=issue.assigned_agent_id)
        if dispatchable
        else [],
        now=ctx.now,
        actor=ctx.actor,
        reason=cmd.reason,
    )
    body = ctx.commit_decision(issue, decision)
    end_active_run(ctx, issue, ExitReason.REASSIGNED)
    return body


@handles(CancelIssue)
def cancel_issue(cmd: CancelIssue, ctx: Context) -> dict[str, Any]:
    issue = ctx.issue_for_update(cmd.issue_id)
    decision = rules.cancel_issue(issue, now=ctx.now, actor=ctx.actor, reason=cmd.reason)
    body = ctx.commit_decision(issue, decision)
    end_active_run(ctx, issue, ExitReason.CANCELLED)
    if cmd.cascade:
        c = t.issues.c
        children = list(
            ctx.conn.execute(
                sa.select(c.id)
                .where(c.parent_id == issue.id, c.status.not_in(sorted(TERMINAL)))
                .order_by(c.created_at, c.id)
            ).scalars()
        )
        ctx.follow_ups.extend(CancelIssue(child, cmd.reason, cascade=True) for child in children)
        body["cancelledChildren"] = children
    return body


def end_active_run(ctx: Context, issue: Issue, reason: ExitReason) -> None:
    """Someone else's command took a running issue: end its run, release the lease, and
    offer the agent's freed capacity to queued work. The agent learns at its next call."""
    if issue.current_run_id is None:
        return
    row = runs_db.load_run(ctx.conn, issue.id, issue.current_run_id)
    if row is None:
        return
    run, lease = end_run_by_others(
        runs_db.run_from_row(row),
        runs_db.active_lease(ctx.conn, issue.id),
        now=ctx.now,
        reason=reason,
    )
    assert run is not None
    runs_db.save_run(ctx.conn, run)
    # The issue as this command left it (its decision was committed before the run ended).
    after = next((d.issue for d in reversed(ctx.decisions) if d.issue.id == issue.id), issue)
    announce(ctx, after, expire_with_run(ctx, after, run))
    if lease is not None:
        runs_db.save_lease(ctx.conn, lease)
    offer_work(ctx, run.agent_id)


@handles(PostComment)
def post_comment(cmd: PostComment, ctx: Context) -> dict[str, Any]:
    issue = ctx.issue_for_update(cmd.issue_id)
    rules.check_commentable(issue)
    author = Actor.parse(cmd.author)
    if author is not None and author.agent_id is not None:
        ctx.require(t.agents, author.agent_id, ["author"], "agent")
    return comment_json(ctx.add_comment(cmd.comment_id, issue, cmd.text, cmd.author))
