"""Time rules: retries with backoff, work that starts later, and overdue issues.

A retryable failure or an expired lease puts the issue back to ``queued`` with a
``not_before``: nothing claims or dispatches it before then. The wait is exponential with
full jitter (AWS's "full jitter"): a uniform draw in ``[0, min(max, base * 2^attempt)]``,
where ``attempt`` counts the retries before this one (0 for the first retry). The random
draw is a parameter (``jitter``, in [0, 1]), so the rule is deterministic given it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.actors import Actor
from domain.events import IssueOverdue
from domain.model import Issue, RetryPolicy
from domain.statuses import TERMINAL

__all__ = [
    "MAX_BASE_SECONDS",
    "MAX_MAX_SECONDS",
    "TIMEKEEPER",
    "RetryPolicy",
    "backoff_ceiling_s",
    "backoff_s",
    "is_due",
    "is_overdue",
    "overdue_event",
    "retry_not_before",
]

#: The largest ``retryPolicy.baseSeconds`` an issue may name: a day, in seconds.
MAX_BASE_SECONDS = 86_400
#: The largest ``retryPolicy.maxSeconds`` an issue may name: a week, in seconds.
MAX_MAX_SECONDS = 7 * 86_400
#: Past this many doublings the ceiling is the cap anyway (and 2^attempt stays a small float).
_MAX_DOUBLINGS = 63


def backoff_ceiling_s(policy: RetryPolicy, attempt: int) -> float:
    """The longest the ``attempt``-th retry (0-based) may wait: ``min(max, base * 2^attempt)``."""
    doublings = min(max(attempt, 0), _MAX_DOUBLINGS)
    return float(min(policy.max_seconds, policy.base_seconds * 2.0**doublings))


def backoff_s(policy: RetryPolicy, attempt: int, jitter: float) -> float:
    """The wait before the ``attempt``-th retry (0-based), in seconds: full jitter, a share
    ``jitter`` (a uniform draw in [0, 1], clamped) of ``backoff_ceiling_s``."""
    share = min(max(jitter, 0.0), 1.0)
    return share * backoff_ceiling_s(policy, attempt)


def retry_not_before(
    issue: Issue, defaults: RetryPolicy, *, now: datetime, jitter: float
) -> datetime | None:
    """When the issue's next attempt may start, after a run that ended without completing;
    None when the wait is nothing (at once: no claim, whatever its clock, is held back).

    ``issue.attempts`` counts the runs so far (the one that just ended included), so the
    retry after the first run is retry 0. The issue's own ``retry_policy`` wins over
    ``defaults`` (``AGENTQ_RETRY_BASE_S``, ``AGENTQ_RETRY_MAX_S``)."""
    policy = issue.retry_policy or defaults
    # To the millisecond, as every time the API shows.
    wait_ms = round(backoff_s(policy, issue.attempts - 1, jitter) * 1000)
    return now + timedelta(milliseconds=wait_ms) if wait_ms > 0 else None


def is_due(issue: Issue, now: datetime) -> bool:
    """Whether the issue may be claimed or dispatched now: it has no ``not_before`` in the
    future."""
    return issue.not_before is None or issue.not_before <= now


def is_overdue(issue: Issue, now: datetime) -> bool:
    """A live issue whose ``due_at`` has passed."""
    return issue.status not in TERMINAL and issue.due_at is not None and issue.due_at <= now


#: Who notices that an issue passed its ``due_at``.
TIMEKEEPER = str(Actor.system("timekeeper"))


def overdue_event(issue: Issue, *, due_at: datetime) -> IssueOverdue | None:
    """The ``issue.overdue`` entry of a live issue that the sweep found past ``due_at`` (the
    version stays); None when it is done with, or its ``due_at`` has moved since (a moved
    due time is swept on its own). Whether ``due_at`` has passed is the sweep's to say, by
    the database's clock, like a lease's expiry."""
    if issue.status in TERMINAL or issue.due_at != due_at:
        return None
    return IssueOverdue(issue.id, issue.status, issue.status, issue.version, TIMEKEEPER)
