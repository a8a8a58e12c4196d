"""A run that ended without completing: a new attempt after its backoff, or failed.

Shared by a retryable ``fail`` and an expired lease (``domain.runs``); the wait itself is
``domain.timing``'s rule.
"""

from __future__ import annotations

from domain.change import Change
from domain.events import IssueAssigned, IssueFailed, IssueRequeued
from domain.issues import DISPATCHER
from domain.model import AgentLoad, AgentStatus, RetryPolicy
from domain.statuses import IssueStatus, Trigger
from domain.timing import retry_not_before

__all__ = ["NO_BACKOFF", "retry_or_fail"]

S = IssueStatus

#: A retry that waits for nothing (what the rules assume when no defaults are given).
NO_BACKOFF = RetryPolicy(0, 0)


def retry_or_fail(
    change: Change, trigger: Trigger, agent: AgentLoad | None, retry: RetryPolicy, jitter: float
) -> None:
    """After a run ends without completing: a new attempt while attempts remain, else failed.

    The new attempt waits for its backoff (``domain.timing``): the issue goes back to
    ``queued`` with ``not_before`` set, and nothing claims or dispatches it before then. A
    team issue goes back to its team's queue (any of its agents may take it); an issue of one
    agent goes back to that agent at once if it is active and the backoff is nothing, else
    it waits in ``queued`` with the agent set until the dispatcher gives it back."""
    issue = change.issue
    if issue.attempts >= issue.max_attempts:
        change.move(S.FAILED, trigger, IssueFailed, current_run_id=None)
        return
    not_before = retry_not_before(issue, retry, now=change.now, jitter=jitter)
    keep_agent = issue.assigned_team_id is None
    change.move(
        S.QUEUED,
        trigger,
        IssueRequeued,
        current_run_id=None,
        assigned_agent_id=issue.assigned_agent_id if keep_agent else None,
        not_before=not_before,
    )
    due = not_before is None
    if due and keep_agent and agent is not None and agent.status is AgentStatus.ACTIVE:
        change.move(S.ASSIGNED, Trigger.ASSIGN, IssueAssigned, actor=DISPATCHER)
