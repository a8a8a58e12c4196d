"""Command handlers of approvals: the running agent asks, a human decides."""

from __future__ import annotations

from typing import Any

from domain import approvals as rules
from domain.commands import DecideApproval, ExpireApproval, RequestApproval
from domain.errors import NotFound
from domain.events import IssueEvent
from domain.model import Issue
from domain.runs import hold_lease
from service.answers.runs import approval_json
from service.commands.approval_events import record_approval
from service.commands.context import Context
from service.commands.handlers.runs import agent_call
from service.commands.registry import handles
from service.store import approvals as store
from service.store import runs as runs_db

__all__ = ["decide_approval", "expire_approval", "request_approval"]


@handles(RequestApproval)
def request_approval(cmd: RequestApproval, ctx: Context) -> Any:
    issue, _, run, _ = agent_call(
        ctx, cmd.issue_id, cmd.run_id, cmd.lease_token, cmd.acting_agent_id
    )
    approval, event = rules.request_approval(
        issue,
        run,
        approval_id=cmd.approval_id,
        action=cmd.action,
        details=cmd.details,
        expires_in_s=cmd.expires_in_s or rules.DEFAULT_EXPIRES_IN_S,
        now=ctx.now,
    )
    store.insert_approval(ctx.conn, ctx.company_id, approval)
    record_approval(ctx, issue, approval, event)
    return approval_json(approval)


@handles(DecideApproval)
def decide_approval(cmd: DecideApproval, ctx: Context) -> Any:
    """Approve or reject; the run's lease is held (``domain.runs.hold_lease``)."""
    issue = ctx.issue_for_update(cmd.issue_id)
    approval = store.load_approval(ctx.conn, ctx.company_id, cmd.approval_id)
    if approval.issue_id != issue.id:
        raise NotFound("approval", cmd.approval_id)
    decided, event = rules.decide_approval(
        approval, issue, approve=cmd.approve, actor=ctx.actor, comment=cmd.comment, now=ctx.now
    )
    _settle(ctx, issue, decided, event)
    return approval_json(decided)


def _settle(ctx: Context, issue: Issue, decided: rules.Approval, event: IssueEvent) -> None:
    """Store a decision or an expiry; the run's lease then runs from now, so its agent has a
    whole lease to hear of it at a checkpoint (``domain.runs.hold_lease``)."""
    store.save_decision(ctx.conn, decided)
    record_approval(ctx, issue, decided, event)
    lease = runs_db.active_lease(ctx.conn, decided.issue_id)
    if lease is not None and lease.run_id == decided.run_id:
        held = hold_lease(lease, ctx.now)
        if held != lease:
            runs_db.save_lease(ctx.conn, held)


@handles(ExpireApproval)
def expire_approval(cmd: ExpireApproval, ctx: Context) -> Any:
    """Past its ``expiresAt`` and still pending: expired. Decided meanwhile (or not due):
    nothing changes."""
    issue = ctx.issue_for_update(cmd.issue_id)
    approval = store.load_approval(ctx.conn, ctx.company_id, cmd.approval_id)
    expired = rules.expire_approval(approval, issue, actor=ctx.actor, now=ctx.now)
    if expired is None:
        return approval_json(approval)
    _settle(ctx, issue, *expired)
    return approval_json(expired[0])
