"""Runs and fenced leases: claim, checkpoint, complete, fail, hand off, expire, review.

A lease token names its run and a fencing number that only grows per issue
(``<run id>.<fence>``). Every agent call must carry the issue's current token; any
other token is stale and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.actors import Actor
from domain.change import Change, Decision
from domain.errors import AgentUnavailable, AtCapacity, Blocked, StaleLease
from domain.events import (
    IssueAssigned,
    IssueDone,
    IssueFailed,
    IssueHandedOff,
    IssueInReview,
    IssueRejected,
    IssueStarted,
)
from domain.issues import DISPATCHER
from domain.model import AgentLoad, AgentStatus, Issue, RetryPolicy
from domain.retries import NO_BACKOFF, retry_or_fail
from domain.statuses import TERMINAL, IssueStatus, Trigger

__all__ = [
    "LEASE_SECONDS",
    "STOP_REASONS",
    "SWEEPER",
    "Ended",
    "ExitReason",
    "Lease",
    "Run",
    "RunStatus",
    "Started",
    "check_can_claim",
    "check_lease",
    "claim_issue",
    "complete_run",
    "end_run_by_others",
    "expire_lease",
    "fail_run",
    "hand_off_for_dependency",
    "handoff_run",
    "hold_lease",
    "renew_lease",
    "review_issue",
]

S = IssueStatus

#: Allowed ``leaseSeconds`` of a claim, and the default.
LEASE_SECONDS = (5, 3600, 60)
#: Who expires a lease that was not renewed in time.
SWEEPER = str(Actor.system("sweeper"))


class RunStatus(StrEnum):
    ACTIVE = "active"  #: its agent holds the issue's lease
    ENDED = "ended"  #: it has an ``exit_reason``


class ExitReason(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REASSIGNED = "reassigned"
    LEASE_EXPIRED = "lease_expired"
    BUDGET_EXCEEDED = "budget_exceeded"
    HANDOFF = "handoff"
    DEPENDENCY_FAILED = "dependency_failed"


#: Exit reasons that mean "someone else ended your run": the agent is told to stop.
STOP_REASONS = frozenset(
    {
        ExitReason.CANCELLED,
        ExitReason.REASSIGNED,
        ExitReason.LEASE_EXPIRED,
        ExitReason.DEPENDENCY_FAILED,
        ExitReason.BUDGET_EXCEEDED,
    }
)


@dataclass(frozen=True, slots=True)
class Lease:
    """The right to work on an issue until ``expires_at``; renewed by checkpoints."""

    token: str
    run_id: str
    issue_id: str
    fence: int
    lease_seconds: int
    granted_at: datetime
    expires_at: datetime
    renewals: int = 0
    released_at: datetime | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None


@dataclass(frozen=True, slots=True)
class Run:
    """One attempt at an issue by one agent."""

    id: str
    issue_id: str
    agent_id: str
    attempt: int
    started_at: datetime
    ended_at: datetime | None = None
    exit_reason: ExitReason | None = None
    exit_details: dict[str, Any] | None = None
    workspace_url: str | None = None
    #: What the agent reported spending on this run (``POST …/costs``).
    cost_usd: Decimal = Decimal(0)
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def status(self) -> RunStatus:
        return RunStatus.ACTIVE if self.active else RunStatus.ENDED


@dataclass(frozen=True, slots=True)
class Started:
    decision: Decision
    run: Run
    lease: Lease


@dataclass(frozen=True, slots=True)
class Ended:
    """A decision that ends a run (if the issue had one) and releases its lease."""

    decision: Decision
    run: Run | None
    lease: Lease | None


def check_can_claim(agent: AgentLoad, running: int) -> None:
    """A paused agent gets nothing new; an agent at ``capacity`` running issues waits."""
    if agent.status is not AgentStatus.ACTIVE:
        raise AgentUnavailable(f"agent {agent.id} is {agent.status}")
    if running >= agent.capacity:
        raise AtCapacity(f"agent {agent.id} already runs {running} of {agent.capacity} issues")


def claim_issue(
    issue: Issue,
    agent: AgentLoad,
    *,
    running: int,
    blocked: bool,
    run_id: str,
    lease_seconds: int,
    now: datetime,
) -> Started:
    """Start a run: ``assigned`` → ``running`` (a team's ``queued`` issue is first assigned
    to the agent, in the same decision), with a new lease whose fence is one higher."""
    check_can_claim(agent, running)
    if blocked:
        raise Blocked(f"issue {issue.id} waits on dependencies that are not done")
    change = Change(issue, now, str(Actor.agent(agent.id)), None)
    if issue.status is S.QUEUED:
        change.move(S.ASSIGNED, Trigger.DISPATCH, IssueAssigned, assigned_agent_id=agent.id)
    fence = issue.lease_fence + 1
    change.move(
        S.RUNNING,
        Trigger.CLAIM,
        IssueStarted,
        current_run_id=run_id,
        attempts=issue.attempts + 1,
        lease_fence=fence,
    )
    run = Run(run_id, issue.id, agent.id, issue.attempts + 1, now)
    lease = Lease(
        token=f"{run_id}.{fence}",
        run_id=run_id,
        issue_id=issue.id,
        fence=fence,
        lease_seconds=lease_seconds,
        granted_at=now,
        expires_at=now + timedelta(seconds=lease_seconds),
    )
    return Started(change.decision(), run, lease)


def check_lease(run: Run, lease: Lease | None, token: str) -> Lease:
    """The active lease if ``token`` is it; else ``StaleLease`` (nothing may change).

    A run that someone else ended tells its agent to stop, and why."""
    if lease is not None and lease.active and lease.token == token and run.active:
        return lease
    extra: dict[str, Any] = {"stop": True}
    if run.exit_reason in STOP_REASONS:
        extra["stopReason"] = str(run.exit_reason)
    detail = (
        f"run {run.id} ended ({run.exit_reason})"
        if not run.active
        else "this lease token is not the run's current lease"
    )
    raise StaleLease(detail, **extra)


def renew_lease(lease: Lease, now: datetime) -> Lease:
    """A checkpoint extends the lease by its ``lease_seconds`` from now."""
    return replace(
        lease, expires_at=now + timedelta(seconds=lease.lease_seconds), renewals=lease.renewals + 1
    )


def hold_lease(lease: Lease, now: datetime) -> Lease:
    """A human answered the run (an approval was decided): the lease lasts at least its
    ``lease_seconds`` from now, so an agent that waited past the expiry hears the answer."""
    at_least = now + timedelta(seconds=lease.lease_seconds)
    return lease if lease.expires_at >= at_least else replace(lease, expires_at=at_least)


def _release(lease: Lease | None, now: datetime, reason: ExitReason) -> Lease | None:
    if lease is None or not lease.active:
        return lease
    return replace(lease, released_at=now, release_reason=str(reason))


def _end(
    run: Run,
    now: datetime,
    reason: ExitReason,
    details: dict[str, Any] | None = None,
    workspace_url: str | None = None,
) -> Run:
    return replace(
        run,
        ended_at=now,
        exit_reason=reason,
        exit_details=details,
        workspace_url=workspace_url or run.workspace_url,
    )


def complete_run(
    issue: Issue,
    run: Run,
    lease: Lease,
    *,
    now: datetime,
    result: dict[str, Any] | None,
    workspace_url: str | None,
) -> Ended:
    """The agent is done: ``running`` → ``review``."""
    change = Change(issue, now, str(Actor.agent(run.agent_id)), None)
    change.move(S.REVIEW, Trigger.COMPLETE, IssueInReview, current_run_id=None)
    details = {"result": result} if result is not None else None
    return Ended(
        change.decision(),
        _end(run, now, ExitReason.COMPLETED, details, workspace_url),
        _release(lease, now, ExitReason.COMPLETED),
    )


def handoff_run(issue: Issue, run: Run, lease: Lease, *, now: datetime, reason: str) -> Ended:
    """The agent hands the issue to a human: ``running`` → ``handoff``."""
    change = Change(issue, now, str(Actor.agent(run.agent_id)), reason)
    change.move(S.HANDOFF, Trigger.HANDOFF, IssueHandedOff, current_run_id=None)
    return Ended(
        change.decision(),
        _end(run, now, ExitReason.HANDOFF, {"reason": reason}),
        _release(lease, now, ExitReason.HANDOFF),
    )


def fail_run(
    issue: Issue,
    run: Run,
    lease: Lease,
    *,
    now: datetime,
    reason: str,
    details: dict[str, Any] | None,
    retryable: bool,
    agent: AgentLoad | None,
    retry: RetryPolicy = NO_BACKOFF,
    jitter: float = 0.0,
) -> Ended:
    """``retryable: false`` → ``failed``; ``true`` → a new attempt while attempts remain,
    after its backoff (``retry`` unless the issue has its own policy; ``jitter`` the draw)."""
    change = Change(issue, now, str(Actor.agent(run.agent_id)), reason)
    if retryable:
        retry_or_fail(change, Trigger.FAIL, agent, retry, jitter)
    else:
        change.move(S.FAILED, Trigger.FAIL, IssueFailed, current_run_id=None)
    exit_details = {"reason": reason, "details": details, "retryable": retryable}
    return Ended(
        change.decision(),
        _end(run, now, ExitReason.FAILED, exit_details),
        _release(lease, now, ExitReason.FAILED),
    )


def expire_lease(
    issue: Issue,
    run: Run,
    lease: Lease,
    *,
    now: datetime,
    agent: AgentLoad | None,
    retry: RetryPolicy = NO_BACKOFF,
    jitter: float = 0.0,
) -> Ended:
    """The sweep found the lease past ``expires_at``: the run ends, and it counts as a
    retryable failure (a new attempt after its backoff, or failed)."""
    change = Change(issue, now, SWEEPER, "lease expired")
    retry_or_fail(change, Trigger.LEASE_EXPIRED, agent, retry, jitter)
    return Ended(
        change.decision(),
        _end(run, now, ExitReason.LEASE_EXPIRED),
        _release(lease, now, ExitReason.LEASE_EXPIRED),
    )


def end_run_by_others(
    run: Run | None, lease: Lease | None, *, now: datetime, reason: ExitReason
) -> tuple[Run | None, Lease | None]:
    """Someone else's command (cancel, reassign) took the issue: end the run, free the lease."""
    if run is None or not run.active:
        return run, lease
    return _end(run, now, reason), _release(lease, now, reason)


def hand_off_for_dependency(
    issue: Issue,
    run: Run | None,
    lease: Lease | None,
    *,
    dependency_id: str,
    dependency_status: IssueStatus,
    now: datetime,
) -> Ended | None:
    """A dependency ended ``failed`` or ``cancelled``: a live issue goes to ``handoff`` for a
    human (a running one's run ends ``dependency_failed``). Terminal issues stay as they are."""
    if issue.status in TERMINAL:
        return None
    reason = f"dependency {dependency_id} ended {dependency_status}"
    change = Change(issue, now, DISPATCHER, reason)
    change.move(S.HANDOFF, Trigger.DEPENDENCY_FAILED, IssueHandedOff, current_run_id=None)
    ended_run, ended_lease = end_run_by_others(
        run, lease, now=now, reason=ExitReason.DEPENDENCY_FAILED
    )
    return Ended(change.decision(), ended_run, ended_lease)


def review_issue(
    issue: Issue, *, accept: bool, now: datetime, actor: str, comment: str | None
) -> Decision:
    """``review`` → ``done`` on accept; → ``assigned`` to the same agent on reject."""
    change = Change(issue, now, actor, comment)
    if accept:
        change.move(S.DONE, Trigger.ACCEPT, IssueDone)
    else:
        change.move(S.ASSIGNED, Trigger.REJECT, IssueRejected)
    return change.decision()
