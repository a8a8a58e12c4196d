"""Command handlers of approvals: the running agent asks, a human decides."""

from __future__ import annotations

from typing import Any

from domain import approvals as rules
from domain.commands import DecideApproval, RequestApproval
from domain.errors import NotFound
from domain.runs import hold_lease
from service import approvals as store
from service.db import runs as runs_db
from service.handlers.context import Context
from service.handlers.registry import handles
from service.handlers.runs import agent_call

__all__ = ["decide_approval", "request_approval"]


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
        now=ctx.now,
    )
    store.insert_approval(ctx.conn, ctx.company_id, approval)
    ctx.record([event])
    return store.approval_json(approval)


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
    store.save_decision(ctx.conn, decided)
    ctx.record([event])
    lease = runs_db.active_lease(ctx.conn, issue.id)
    if lease is not None and lease.run_id == approval.run_id:
        held = hold_lease(lease, ctx.now)
        if held != lease:
            runs_db.save_lease(ctx.conn, held)
    return store.approval_json(decided)
