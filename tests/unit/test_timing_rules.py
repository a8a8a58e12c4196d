"""The time rules on a fixed clock: retry backoff (exponential, capped, full jitter), work that
starts later (``not_before``), and overdue issues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.commands import CreateIssue, UpdateIssue
from domain.errors import NotEditable
from domain.events import IssueAssigned, IssueCreated, IssueOverdue, IssueRequeued, IssueUpdated
from domain.issues import create_issue, dispatch_issue, update_issue
from domain.model import RetryPolicy
from domain.runs import Started, claim_issue, expire_lease, fail_run
from domain.timing import (
    TIMEKEEPER,
    backoff_ceiling_s,
    backoff_s,
    is_due,
    is_overdue,
    overdue_event,
    retry_not_before,
)
from service.commands.context import jitter_of
from tests.unit.unit_builders import NOW, USER, S, make_agent, make_issue, paused

AGENT = make_agent("agt_1", capacity=2)
DEFAULTS = RetryPolicy(10, 600)

policies = st.builds(
    lambda base, extra: RetryPolicy(base, base + extra),
    st.integers(0, 86_400),
    st.integers(0, 7 * 86_400),
)


# --- the backoff ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(0, 10), (1, 20), (2, 40), (5, 320), (6, 600), (7, 600), (99, 600), (10_000, 600)],
)
def test_the_ceiling_doubles_per_retry_from_the_base_and_stops_at_the_cap(
    attempt: int, ceiling: float
) -> None:
    assert backoff_ceiling_s(DEFAULTS, attempt) == ceiling


@given(policies, st.integers(0, 500), st.floats(0, 1))
def test_a_wait_is_full_jitter_in_zero_to_the_ceiling_and_never_above_the_cap(
    policy: RetryPolicy, attempt: int, jitter: float
) -> None:
    ceiling = min(policy.max_seconds, policy.base_seconds * 2.0**attempt)
    wait = backoff_s(policy, attempt, jitter)
    assert 0 <= wait <= ceiling <= policy.max_seconds
    assert wait == jitter * backoff_ceiling_s(policy, attempt)


@given(policies, st.integers(0, 50), st.floats(0, 1))
def test_a_wait_is_the_same_for_the_same_draw(
    policy: RetryPolicy, attempt: int, jitter: float
) -> None:
    assert backoff_s(policy, attempt, jitter) == backoff_s(policy, attempt, jitter)


def test_the_draw_spans_the_whole_range_nothing_at_zero_the_ceiling_at_one() -> None:
    assert backoff_s(DEFAULTS, 3, 0.0) == 0
    assert backoff_s(DEFAULTS, 3, 1.0) == 80
    assert backoff_s(DEFAULTS, 3, 0.25) == 20
    # A draw out of [0, 1] is clamped, never a wait out of range.
    assert backoff_s(DEFAULTS, 3, 7.0) == 80 and backoff_s(DEFAULTS, 3, -1.0) == 0


def test_a_base_of_zero_retries_at_once_with_no_not_before() -> None:
    assert backoff_s(RetryPolicy(0, 600), 9, 1.0) == 0
    issue = make_issue(S.RUNNING, attempts=2)
    assert retry_not_before(issue, RetryPolicy(0, 600), now=NOW, jitter=1.0) is None
    assert retry_not_before(issue, DEFAULTS, now=NOW, jitter=0.0) is None


def test_the_first_retry_is_retry_zero_and_the_issues_own_policy_wins() -> None:
    after_one_run = make_issue(S.RUNNING, attempts=1)
    assert retry_not_before(after_one_run, DEFAULTS, now=NOW, jitter=1.0) == NOW + timedelta(
        seconds=10
    )
    after_three = make_issue(S.RUNNING, attempts=3)
    assert retry_not_before(after_three, DEFAULTS, now=NOW, jitter=0.5) == NOW + timedelta(
        seconds=20
    )
    own = make_issue(S.RUNNING, attempts=3, retry_policy=RetryPolicy(1, 3))
    assert retry_not_before(own, DEFAULTS, now=NOW, jitter=1.0) == NOW + timedelta(seconds=3)


def test_the_draw_of_a_command_is_in_zero_to_one_and_the_same_each_time() -> None:
    draws = [jitter_of(f"cmd_{i}") for i in range(2000)]
    assert all(0 <= d < 1 for d in draws)
    assert draws == [jitter_of(f"cmd_{i}") for i in range(2000)]
    # Spread over the range, as a random draw would be (not all in one corner).
    assert min(draws) < 0.01 and max(draws) > 0.99
    assert 0.45 < sum(draws) / len(draws) < 0.55


# --- retries through the run rules ------------------------------------------------------------


def _running(*, team: bool = True, policy: RetryPolicy | None = None) -> Started:
    issue = make_issue(
        S.ASSIGNED,
        assigned_agent_id=AGENT.id,
        assigned_team_id="tm_core" if team else None,
        retry_policy=policy,
    )
    return claim_issue(
        issue, AGENT, running=0, blocked=False, run_id="run_a", lease_seconds=60, now=NOW
    )


def test_a_retryable_failure_puts_a_team_issue_back_with_not_before_after_its_backoff() -> None:
    started = _running()
    later = NOW + timedelta(seconds=30)
    ended = fail_run(
        started.decision.issue,
        started.run,
        started.lease,
        now=later,
        reason="x",
        details=None,
        retryable=True,
        agent=AGENT,
        retry=DEFAULTS,
        jitter=0.5,
    )
    issue = ended.decision.issue
    assert issue.status is S.QUEUED and issue.not_before == later + timedelta(seconds=5)
    [requeued] = ended.decision.events
    assert isinstance(requeued, IssueRequeued) and requeued.not_before == issue.not_before
    assert not is_due(issue, later) and is_due(issue, issue.not_before)


def test_an_agents_own_issue_waits_queued_through_a_backoff_and_is_reassigned_without() -> None:
    started = _running(team=False)
    waits = fail_run(
        started.decision.issue,
        started.run,
        started.lease,
        now=NOW,
        reason="x",
        details=None,
        retryable=True,
        agent=AGENT,
        retry=DEFAULTS,
        jitter=1.0,
    )
    assert waits.decision.issue.status is S.QUEUED
    assert waits.decision.issue.assigned_agent_id == AGENT.id
    at_once = fail_run(
        started.decision.issue,
        started.run,
        started.lease,
        now=NOW,
        reason="x",
        details=None,
        retryable=True,
        agent=AGENT,
        retry=DEFAULTS,
        jitter=0.0,
    )
    assert at_once.decision.issue.status is S.ASSIGNED
    assert at_once.decision.issue.not_before is None
    assert [type(e) for e in at_once.decision.events] == [IssueRequeued, IssueAssigned]


def test_an_expired_lease_counts_as_a_retryable_failure_with_the_same_backoff() -> None:
    started = _running(policy=RetryPolicy(4, 8))
    when = started.lease.expires_at
    ended = expire_lease(
        started.decision.issue,
        started.run,
        started.lease,
        now=when,
        agent=AGENT,
        retry=DEFAULTS,
        jitter=1.0,
    )
    assert ended.decision.issue.status is S.QUEUED
    assert ended.decision.issue.not_before == when + timedelta(seconds=4)
    assert ended.decision.events[0].not_before == when + timedelta(seconds=4)


def test_the_last_attempt_fails_without_a_backoff() -> None:
    started = _running()
    last = started.decision.issue.evolve(attempts=3, max_attempts=3)
    ended = expire_lease(
        last, started.run, started.lease, now=NOW, agent=AGENT, retry=DEFAULTS, jitter=1.0
    )
    assert ended.decision.issue.status is S.FAILED and ended.decision.issue.not_before is None


# --- work that starts later -------------------------------------------------------------------


def _create(**fields: object) -> CreateIssue:
    return CreateIssue(issue_id="iss_new", title="later", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("named", ["agent", "team"])
def test_an_issue_that_starts_later_is_created_queued_and_given_out_only_once_due(
    named: str,
) -> None:
    start = NOW + timedelta(hours=1)
    who = {"assigned_agent_id": AGENT.id} if named == "agent" else {"assigned_team_id": "tm_1"}
    decision = create_issue(
        _create(not_before=start, **who),
        company_id="cmp_1",
        now=NOW,
        actor=USER,
        agent=AGENT if named == "agent" else None,
        team_agents=[AGENT],
        blocked=False,
    )
    issue = decision.issue
    assert issue.status is S.QUEUED and issue.not_before == start
    [created] = decision.events
    assert isinstance(created, IssueCreated) and created.not_before == start
    waiting = AGENT if named == "agent" else None
    early = dispatch_issue(issue, waiting_agent=waiting, team_agents=[AGENT], now=NOW)
    assert early.events == () and early.issue == issue
    due = dispatch_issue(issue, waiting_agent=waiting, team_agents=[AGENT], now=start)
    assert due.issue.status is S.ASSIGNED and due.issue.assigned_agent_id == AGENT.id


def test_an_issue_whose_not_before_has_passed_is_given_out_at_create_as_usual() -> None:
    decision = create_issue(
        _create(not_before=NOW - timedelta(minutes=1), assigned_agent_id=AGENT.id),
        company_id="cmp_1",
        now=NOW,
        actor=USER,
        agent=AGENT,
        team_agents=[],
        blocked=False,
    )
    assert decision.issue.status is S.ASSIGNED


def test_a_retry_policy_given_at_create_is_the_issues_own() -> None:
    decision = create_issue(
        _create(retry_base_s=2, retry_max_s=30),
        company_id="cmp_1",
        now=NOW,
        actor=USER,
        agent=None,
        team_agents=[],
        blocked=False,
    )
    assert decision.issue.retry_policy == RetryPolicy(2, 30)


def test_a_patch_moves_not_before_only_while_queued() -> None:
    later = NOW + timedelta(hours=2)
    patch = UpdateIssue("iss_1", frozenset({"not_before"}), not_before=later)
    decision = update_issue(make_issue(S.QUEUED), patch, now=NOW, actor=USER)
    assert decision.issue.not_before == later
    [updated] = decision.events
    assert isinstance(updated, IssueUpdated) and updated.not_before == later
    for status in (S.ASSIGNED, S.RUNNING, S.REVIEW, S.HANDOFF):
        with pytest.raises(NotEditable):
            update_issue(make_issue(status), patch, now=NOW, actor=USER)


def test_a_paused_agents_issue_stays_queued_after_its_backoff_until_the_agent_is_back() -> None:
    issue = make_issue(S.QUEUED, assigned_agent_id="agt_paused", not_before=NOW)
    decision = dispatch_issue(issue, waiting_agent=paused(), team_agents=[], now=NOW)
    assert decision.events == ()


# --- overdue ----------------------------------------------------------------------------------


def test_a_live_issue_past_its_due_time_is_overdue_once_per_due_time() -> None:
    due = NOW - timedelta(minutes=1)
    issue = make_issue(S.RUNNING, due_at=due)
    assert is_overdue(issue, NOW) and not is_overdue(issue, due - timedelta(seconds=1))
    event = overdue_event(issue, due_at=due)
    assert event == IssueOverdue(issue.id, S.RUNNING, S.RUNNING, issue.version, TIMEKEEPER)
    # The due time moved since the sweep saw it: that one is not noted (the new one will be).
    assert overdue_event(issue.evolve(due_at=NOW + timedelta(days=1)), due_at=due) is None


@pytest.mark.parametrize("status", [S.DONE, S.FAILED, S.CANCELLED])
def test_a_finished_issue_is_never_overdue(status: S) -> None:
    issue = make_issue(status, due_at=NOW - timedelta(days=1))
    assert not is_overdue(issue, NOW)
    assert overdue_event(issue, due_at=issue.due_at) is None  # type: ignore[arg-type]


def test_an_issue_without_a_due_time_is_never_overdue() -> None:
    assert not is_overdue(make_issue(S.QUEUED), NOW)
