"""An approval's activity entry and webhook event, and the approvals a run's end expires.

Every way an approval changes (requested, approved, rejected, expired past ``expiresAt`` by
the sweep, expired because its run ended) writes one activity entry of the change's type and
one webhook event of the same type whose ``data.approval`` is the approval after it, in the
command's transaction."""

from __future__ import annotations

from domain import approvals as rules
from domain.events import IssueEvent
from domain.model import Issue
from domain.runs import Run
from service.answers.runs import approval_json
from service.commands.context import Context
from service.store import approvals as store
from service.webhooks.outbox import PendingEvent

__all__ = ["Expired", "announce", "expire_with_run", "record_approval"]

#: An approval after its expiry, and its ``approval.expired`` activity event.
Expired = tuple[rules.Approval, IssueEvent]


def record_approval(
    ctx: Context, issue: Issue, approval: rules.Approval, event: IssueEvent
) -> None:
    """The approval's activity entry, and its webhook event of the same type, whose
    ``data.approval`` is the approval as it is now (the issue's status does not move)."""
    ctx.record([event])
    data = {"approval": approval_json(approval)}
    ctx.extra_webhooks.append(
        PendingEvent(event.type, issue, issue.status.value, event.actor, data)
    )


def expire_with_run(ctx: Context, issue: Issue, run: Run) -> list[Expired]:
    """``run`` has ended: its pending approvals expire (nobody is left to act on a
    decision), stored now (so the command's answer no longer lists them as pending).
    ``issue``: the issue as the run's end leaves it. Announce them with ``announce`` once
    the run's own change is recorded (its entry comes first)."""
    if run.active:
        return []
    exit_reason = str(run.exit_reason) if run.exit_reason is not None else "ended"
    done: list[Expired] = []
    for approval in store.pending_of_run(ctx.conn, run.id):
        expired = rules.expire_with_run(approval, issue, run_exit=exit_reason, actor=ctx.actor)
        if expired is not None:
            store.save_decision(ctx.conn, expired[0])
            done.append(expired)
    return done


def announce(ctx: Context, issue: Issue, expired: list[Expired]) -> None:
    """One ``approval.expired`` entry and webhook event per approval ``expire_with_run``
    expired."""
    for approval, event in expired:
        record_approval(ctx, issue, approval, event)
