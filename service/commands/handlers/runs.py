"""Command handlers of the agent work loop: claim, checkpoint, complete, fail, hand off,
review, lease expiry and dispatch."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain import issues as issue_rules
from domain import runs as rules
from domain.actors import Actor
from domain.budgets import month_of
from domain.commands import (
    ClaimWork,
    CompleteRun,
    DispatchIssue,
    ExpireLease,
    FailRun,
    HandoffRun,
    ReactToDependency,
    RecordCheckpoint,
    ReviewIssue,
)
from domain.errors import BudgetExhausted, Forbidden, NotFound, StaleLease
from domain.events import PROGRESS_TYPE
from domain.model import AgentLoad, Issue
from domain.runs import Lease, Run
from domain.statuses import TERMINAL_NOT_DONE, IssueStatus
from domain.timing import is_due
from service.answers import runs as answers
from service.answers.common import fmt_time, wire
from service.answers.issues import Comment, comment_answer
from service.commands.approval_events import announce, expire_with_run
from service.commands.context import Context, Reply, jitter_of
from service.commands.handlers.dispatch import choose_agent, offer_work
from service.commands.registry import handles
from service.reads.runs import runs_json
from service.store import approvals, repo
from service.store import budgets as budgets_db
from service.store import claims as claims_db
from service.store import runs as runs_db
from service.store import tables as t
from service.webhooks.outbox import PendingEvent

__all__ = [
    "agent_call",
    "claim_work",
    "complete_run",
    "dispatch_issue",
    "expire_lease",
    "fail_run",
    "finish_run",
    "handoff_run",
    "react_to_dependency",
    "record_checkpoint",
    "review_issue",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


#: How long a claim waits for its own assigned issues while other commands hold them locked
#: (a follow-up reacting to a dependency: milliseconds), in seconds, before it answers 204.
LOCKED_WAIT_S = 0.5
#: Between two looks at them, in seconds.
LOCKED_POLL_S = 0.005


def _first_claimable(ctx: Context, agent_id: str, found: claims_db.Claimer) -> Any:
    """The agent's next issue, locked: the one the claim's statement found, else (if its own
    assigned issues are all locked) a wait for them.

    Rows other claims hold are skipped (SKIP LOCKED), so claims never queue behind each
    other. But if the agent's own assigned issues are all locked, they are locked by commands
    that finish in milliseconds: answering 204 then would tell the agent there is no work
    when there is. Only those are waited for: a team's queued issue may be locked by a
    dispatch that waits for this agent's row, which the claim holds."""
    if found.issue is not None or not found.own_held:
        return found.issue
    deadline = time.monotonic() + LOCKED_WAIT_S
    while True:
        time.sleep(LOCKED_POLL_S)
        row = claims_db.first_claimable(ctx.conn, ctx.company_id, agent_id, ctx.now)
        if row is not None:
            return row
        if time.monotonic() > deadline or not claims_db.own_claimable_exists(
            ctx.conn, ctx.company_id, agent_id, ctx.now
        ):
            return None


def _agent_load(ctx: Context, agent_id: str) -> AgentLoad:
    loads = repo.agent_loads(ctx.conn, [agent_id])
    if not loads:
        raise NotFound("agent", agent_id)
    return loads[0]


@handles(ClaimWork)
def claim_work(cmd: ClaimWork, ctx: Context) -> Any:
    """The agent's oldest claimable work: its own ``assigned`` issues first, then its teams'
    unassigned ``queued`` issues; by priority, then age; blocked issues skipped."""
    found = claims_db.claim_next(ctx.conn, ctx.company_id, cmd.agent_id, ctx.now)
    if found is None:
        raise NotFound("agent", cmd.agent_id)
    agent, running = found.agent, found.running
    rules.check_can_claim(agent, running)
    month = month_of(ctx.now)
    exhausted = budgets_db.exhausted_scope(ctx.conn, ctx.company_id, agent.id, month)
    if exhausted is not None:
        raise BudgetExhausted(*exhausted, month)
    row = _first_claimable(ctx, agent.id, found)
    if row is None:
        return Reply(204)
    issue = ctx.locked(repo.issue_from_row(row))
    started = rules.claim_issue(
        issue,
        agent,
        running=running,
        blocked=False,
        run_id=cmd.run_id,
        lease_seconds=cmd.lease_seconds,
        now=ctx.now,
    )
    runs_db.insert_run(ctx.conn, started.run, ctx.company_id)
    runs_db.insert_lease(ctx.conn, started.lease)
    claimed = ctx.commit(issue, started.decision)
    ctx.mark_given_work(agent.id)
    # Just inserted: shown from memory (a new run has no approvals, checkpoint or cost yet).
    run = answers.started_run(started.run, started.lease)
    ctx.webhook_run = wire(run)
    return wire(answers.Claimed(issue=claimed, run=run, lease=answers.grant(started.lease)))


def _run_body(ctx: Context, run_id: str) -> dict[str, Any]:

    row = ctx.conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).one()
    body: dict[str, Any] = runs_json(ctx.conn, [row])[0]
    return body


def agent_call(
    ctx: Context, issue_id: str, run_id: str, token: str, acting: str | None
) -> tuple[Issue, Any, Run, Lease]:
    """Lock the issue, find the run, check the caller is its agent and the lease is current."""
    issue = ctx.issue_for_update(issue_id)
    row = runs_db.load_run(ctx.conn, issue.id, run_id)
    if row is None:
        raise NotFound("run", run_id)
    run = runs_db.run_from_row(row)
    if acting is not None and run.agent_id != acting:
        raise Forbidden(f"run {run.id} belongs to agent {run.agent_id}")
    lease = rules.check_lease(run, runs_db.active_lease(ctx.conn, issue.id), token)
    return issue, row, run, lease


def _new_comments(ctx: Context, run_row: Any, run: Run) -> tuple[list[Comment], Any]:
    """Comments by others since the agent last looked (a new run: since the previous run)."""
    cursor = run_row.comment_cursor
    if cursor is None:
        previous = ctx.conn.execute(
            sa.select(sa.func.max(t.runs.c.ended_at)).where(
                t.runs.c.issue_id == run.issue_id, t.runs.c.attempt < run.attempt
            )
        ).scalar()
        since, seen = previous or _EPOCH, set[str]()
    else:
        since, seen = datetime.fromisoformat(cursor["at"]), set(cursor["ids"])
    rows = [
        r
        for r in ctx.conn.execute(
            sa.select(t.comments)
            .where(
                t.comments.c.issue_id == run.issue_id,
                t.comments.c.author != str(Actor.agent(run.agent_id)),
                t.comments.c.created_at >= since,
            )
            .order_by(t.comments.c.created_at, t.comments.c.id)
        )
        if r.id not in seen
    ]
    if rows:
        last = rows[-1].created_at
        same = {r.id for r in rows if r.created_at == last}
        cursor = {"at": last.isoformat(), "ids": sorted(same | (seen if last == since else set()))}
    elif cursor is None:
        cursor = {"at": since.isoformat(), "ids": []}
    return [comment_answer(r._mapping) for r in rows], cursor


@handles(RecordCheckpoint)
def record_checkpoint(cmd: RecordCheckpoint, ctx: Context) -> Any:
    issue, row, run, lease = agent_call(
        ctx, cmd.issue_id, cmd.run_id, cmd.lease_token, cmd.acting_agent_id
    )
    lease = rules.renew_lease(lease, ctx.now)
    runs_db.save_lease(ctx.conn, lease)
    checkpoint = dict(row.final_checkpoint or {})
    for name in ("progress", "state"):
        if name in cmd.fields_set:
            checkpoint[name] = getattr(cmd, name)
    checkpoint["at"] = fmt_time(ctx.now)
    comments, cursor = _new_comments(ctx, row, run)
    if "workspace_url" in cmd.fields_set:
        run = replace(run, workspace_url=cmd.workspace_url)
    runs_db.save_run(ctx.conn, run, final_checkpoint=checkpoint, comment_cursor=cursor)
    if "progress" in cmd.fields_set:
        ctx.webhook_run = _run_body(ctx, run.id)
        ctx.extra_webhooks.append(
            PendingEvent(PROGRESS_TYPE, issue, issue.status.value, str(Actor.agent(run.agent_id)))
        )
    shown = approvals.shown_at_checkpoint(ctx.conn, run.id, ctx.now)
    return wire(
        answers.Checkpointed(
            lease=answers.grant(lease),
            comments=comments,
            stop=False,
            approvals=[answers.approval_answer(a) for a in shown],
        )
    )


def finish_run(ctx: Context, issue: Issue, ended: rules.Ended) -> dict[str, Any]:
    """Persist a decision that ended a run: the run, its lease, the issue; offer the agent's
    freed slot to other work, and dispatch the issue if it went back to the queue."""
    if ended.run is not None:
        runs_db.save_run(ctx.conn, ended.run)
    if ended.lease is not None:
        runs_db.save_lease(ctx.conn, ended.lease)
    after = ended.decision.issue
    expired = [] if ended.run is None else expire_with_run(ctx, after, ended.run)
    if ended.run is not None:
        ctx.webhook_run = _run_body(ctx, ended.run.id)
    body = ctx.commit_decision(issue, ended.decision)
    announce(ctx, after, expired)
    if ended.run is not None:
        offer_work(ctx, ended.run.agent_id)
    if after.status is IssueStatus.QUEUED and is_due(after, ctx.now):
        # (One that waits for its backoff is dispatched by the scheduler once it is due.)
        ctx.follow_ups.append(DispatchIssue(issue.id))
    return body


@handles(CompleteRun)
def complete_run(cmd: CompleteRun, ctx: Context) -> Any:
    issue, _, run, lease = agent_call(
        ctx, cmd.issue_id, cmd.run_id, cmd.lease_token, cmd.acting_agent_id
    )
    ended = rules.complete_run(
        issue, run, lease, now=ctx.now, result=cmd.result, workspace_url=cmd.workspace_url
    )
    return finish_run(ctx, issue, ended)


@handles(FailRun)
def fail_run(cmd: FailRun, ctx: Context) -> Any:
    issue, _, run, lease = agent_call(
        ctx, cmd.issue_id, cmd.run_id, cmd.lease_token, cmd.acting_agent_id
    )
    ended = rules.fail_run(
        issue,
        run,
        lease,
        now=ctx.now,
        reason=cmd.reason,
        details=cmd.details,
        retryable=cmd.retryable,
        agent=_agent_load(ctx, run.agent_id),
        retry=ctx.retry,
        jitter=jitter_of(ctx.command_id),
    )
    return finish_run(ctx, issue, ended)


@handles(HandoffRun)
def handoff_run(cmd: HandoffRun, ctx: Context) -> Any:
    issue, _, run, lease = agent_call(
        ctx, cmd.issue_id, cmd.run_id, cmd.lease_token, cmd.acting_agent_id
    )
    ended = rules.handoff_run(issue, run, lease, now=ctx.now, reason=cmd.reason)
    return finish_run(ctx, issue, ended)


@handles(ExpireLease)
def expire_lease(cmd: ExpireLease, ctx: Context) -> Any:
    """Applied only if the lease is still the issue's and still past its expiry now."""
    issue = ctx.issue_for_update(cmd.issue_id)
    lease = runs_db.active_lease(ctx.conn, issue.id)
    if lease is None or lease.token != cmd.lease_token:
        raise StaleLease("the lease was already released")
    if lease.expires_at > ctx.db_now():
        raise StaleLease("the lease was renewed before it expired")
    if approvals.pending_approvals(ctx.conn, [issue.id]):
        raise StaleLease("the run waits on a pending approval: its lease does not expire")
    row = runs_db.load_run(ctx.conn, issue.id, lease.run_id)
    run = runs_db.run_from_row(row)
    ended = rules.expire_lease(
        issue,
        run,
        lease,
        now=ctx.now,
        agent=_agent_load(ctx, run.agent_id),
        retry=ctx.retry,
        jitter=jitter_of(ctx.command_id),
    )
    return finish_run(ctx, issue, ended)


@handles(ReviewIssue)
def review_issue(cmd: ReviewIssue, ctx: Context) -> Any:
    issue = ctx.issue_for_update(cmd.issue_id)
    decision = rules.review_issue(
        issue, accept=cmd.accept, now=ctx.now, actor=ctx.actor, comment=cmd.comment
    )
    body = ctx.commit_decision(issue, decision)
    if cmd.comment:
        ctx.add_comment(cmd.comment_id, decision.issue, cmd.comment, ctx.actor)
    return body


@handles(DispatchIssue)
def dispatch_issue(cmd: DispatchIssue, ctx: Context) -> Any:
    issue = ctx.issue_for_update(cmd.issue_id)
    if issue.status is not IssueStatus.QUEUED or repo.blocked_by(ctx.conn, [issue.id]):
        return Reply(204)
    waiting = None
    team_agents: list[AgentLoad] = []
    if issue.assigned_agent_id is not None:
        waiting = _agent_load(ctx, issue.assigned_agent_id)
    elif issue.assigned_team_id is not None:
        team_agents = choose_agent(ctx, issue.assigned_team_id)
    decision = issue_rules.dispatch_issue(
        issue, waiting_agent=waiting, team_agents=team_agents, now=ctx.now
    )
    if not decision.events:
        return Reply(204)
    return ctx.commit_decision(issue, decision)


@handles(ReactToDependency)
def react_to_dependency(cmd: ReactToDependency, ctx: Context) -> Any:
    """Fan-out from a dependency that ended: hand off on failure, unblock on done."""
    issue = ctx.issue_for_update(cmd.issue_id)
    status = ctx.conn.execute(
        sa.select(t.issues.c.status).where(t.issues.c.id == cmd.dependency_id)
    ).scalar_one()
    if status in TERMINAL_NOT_DONE:
        run_row = (
            runs_db.load_run(ctx.conn, issue.id, issue.current_run_id)
            if issue.current_run_id
            else None
        )
        ended = rules.hand_off_for_dependency(
            issue,
            runs_db.run_from_row(run_row) if run_row is not None else None,
            runs_db.active_lease(ctx.conn, issue.id),
            dependency_id=cmd.dependency_id,
            dependency_status=IssueStatus(status),
            now=ctx.now,
        )
        return Reply(204) if ended is None else finish_run(ctx, issue, ended)
    if status == IssueStatus.DONE.value and not repo.blocked_by(ctx.conn, [issue.id]):
        if issue.status is IssueStatus.ASSIGNED and is_due(issue, ctx.now):
            ctx.work_appeared = True  # its agent's waiting claim can take it now
        elif issue.status is IssueStatus.QUEUED:
            return dispatch_issue(DispatchIssue(issue.id), ctx)
    return Reply(204)
