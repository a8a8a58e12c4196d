"""Runs and fenced leases (``domain.runs``): claim, checkpoint, complete, fail, hand off,
expire, review.

docs/api.md "The agent work loop", "The run object", "The state machine". Every rule is pure:
the clock is ``NOW`` plus ``timedelta`` steps, and nothing here reads a real clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from itertools import permutations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit_builders import (
    DISPATCHER,
    NOW,
    TEAM,
    USER,
    assert_events_are_contiguous,
    make_agent,
    make_issue,
    paused,
)

from domain.change import Decision
from domain.errors import (
    AgentUnavailable,
    AtCapacity,
    Blocked,
    DomainError,
    Frozen,
    InvalidTransition,
    StaleLease,
)
from domain.events import (
    IssueAssigned,
    IssueDone,
    IssueFailed,
    IssueHandedOff,
    IssueInReview,
    IssueRejected,
    IssueRequeued,
    IssueStarted,
)
from domain.model import AgentLoad, Issue
from domain.priorities import PRIORITIES, priority_of
from domain.runs import (
    LEASE_SECONDS,
    STOP_REASONS,
    Ended,
    ExitReason,
    Lease,
    Run,
    Started,
    check_lease,
    claim_issue,
    complete_run,
    end_run_by_others,
    expire_lease,
    fail_run,
    hand_off_for_dependency,
    handoff_run,
    renew_lease,
    review_issue,
)
from domain.statuses import NON_TERMINAL, TERMINAL, IssueStatus

S = IssueStatus

SWEEPER = "system:sweeper"
AGENT = make_agent("agt_1", capacity=2)
ACTOR = f"agent:{AGENT.id}"
SECS = 60
#: The run id every single claim in this file uses unless it says otherwise.
RUN_ID = "run_a"

CLAIMABLE_ONLY_FROM = {S.QUEUED, S.ASSIGNED}
NOT_CLAIMABLE_LIVE = sorted(NON_TERMINAL - CLAIMABLE_ONLY_FROM)
DEAD = sorted(TERMINAL)


# --- builders --------------------------------------------------------------------------


def _assigned(*, team: bool = True, **overrides: object) -> Issue:
    """An ``assigned`` issue of ``AGENT``; a team issue unless ``team`` is False."""
    fields: dict[str, object] = {
        "assigned_agent_id": AGENT.id,
        "assigned_team_id": TEAM if team else None,
    }
    fields.update(overrides)
    return make_issue(S.ASSIGNED, **fields)


def _claim(
    issue: Issue,
    agent: AgentLoad = AGENT,
    *,
    running: int = 0,
    blocked: bool = False,
    run_id: str = RUN_ID,
    lease_seconds: int = SECS,
    at: timedelta = timedelta(0),
) -> Started:
    """Claim at ``NOW + at``."""
    return claim_issue(
        issue,
        agent,
        running=running,
        blocked=blocked,
        run_id=run_id,
        lease_seconds=lease_seconds,
        now=NOW + at,
    )


def _running(*, team: bool = True, **overrides: object) -> Started:
    """``AGENT`` claimed an assigned issue at ``NOW``: the issue is running with a lease."""
    return _claim(_assigned(team=team, **overrides))


def _fail(
    started: Started,
    *,
    retryable: bool,
    agent: AgentLoad | None = AGENT,
    at: timedelta = timedelta(seconds=30),
) -> Ended:
    return fail_run(
        started.decision.issue,
        started.run,
        started.lease,
        now=NOW + at,
        reason="tests do not pass",
        details={"failing": 3},
        retryable=retryable,
        agent=agent,
    )


def _expire(
    started: Started, *, agent: AgentLoad | None = AGENT, at: timedelta | None = None
) -> Ended:
    when = started.lease.expires_at if at is None else NOW + at
    return expire_lease(started.decision.issue, started.run, started.lease, now=when, agent=agent)


def _complete(
    started: Started,
    *,
    result: dict[str, object] | None = None,
    workspace_url: str | None = None,
    at: timedelta = timedelta(seconds=30),
) -> Ended:
    return complete_run(
        started.decision.issue,
        started.run,
        started.lease,
        now=NOW + at,
        result=result,
        workspace_url=workspace_url,
    )


def _stale(run: Run, lease: Lease | None, token: str) -> StaleLease:
    with pytest.raises(StaleLease) as caught:
        check_lease(run, lease, token)
    assert caught.value.code == "stale_lease"
    return caught.value


def _event_types(decision: Decision) -> list[type]:
    return [type(e) for e in decision.events]


# --- priority_of -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "rank"),
    [
        (("priority:critical",), 4),
        (("priority:high",), 3),
        (("priority:medium",), 2),
        (("priority:low",), 1),
        ((), 0),
        (("marketing", "ux"), 0),
    ],
    ids=["critical", "high", "medium", "low", "no-labels", "no-priority-label"],
)
def test_priority_ranks_critical_over_high_over_medium_over_low_over_none(
    labels: tuple[str, ...], rank: int
) -> None:
    assert priority_of(labels) == rank


def test_each_priority_ranks_strictly_above_the_next_and_every_one_above_none() -> None:
    ranks = [priority_of((f"priority:{p}",)) for p in ("critical", "high", "medium", "low")]
    ranks.append(priority_of(()))
    assert ranks == sorted(ranks, reverse=True)
    assert len(set(ranks)) == len(ranks)
    assert PRIORITIES == ("critical", "high", "medium", "low")


@pytest.mark.parametrize(
    "labels",
    [
        *permutations(("priority:low", "priority:critical", "marketing")),
        *permutations(("priority:medium", "priority:critical", "priority:high")),
    ],
    ids=str,
)
def test_the_highest_priority_label_wins_whatever_the_label_order(
    labels: tuple[str, ...],
) -> None:
    assert priority_of(labels) == priority_of(("priority:critical",))


def test_with_low_and_medium_the_medium_label_wins() -> None:
    assert priority_of(("priority:low", "priority:medium")) == 2


@pytest.mark.parametrize(
    "label",
    [
        "priority:urgent",
        "priority:",
        "priority:CRITICAL",
        "priority: high",
        "high",
        "xpriority:low",
    ],
)
def test_an_unknown_priority_label_is_ignored(label: str) -> None:
    assert priority_of((label,)) == 0
    assert priority_of((label, "priority:low")) == 1


# --- claim_issue -----------------------------------------------------------------------


def test_claiming_an_assigned_issue_starts_it_running_with_the_next_attempt() -> None:
    issue = _assigned(attempts=1)
    started = _claim(issue)
    after = started.decision.issue
    assert after.status is S.RUNNING
    assert after.attempts == 2
    assert after.current_run_id == RUN_ID
    assert after.assigned_agent_id == AGENT.id
    assert after.updated_at == NOW
    assert started.run == Run(RUN_ID, issue.id, AGENT.id, 2, NOW)
    assert started.run.active


def test_claiming_records_one_started_event_by_the_claiming_agent() -> None:
    issue = _assigned()
    started = _claim(issue)
    (event,) = started.decision.events
    assert isinstance(event, IssueStarted)
    assert (event.from_status, event.to_status) == (S.ASSIGNED, S.RUNNING)
    assert event.actor == ACTOR
    assert event.version == issue.version + 1 == started.decision.issue.version


@pytest.mark.parametrize("fence_before", [0, 1, 41])
def test_a_claim_takes_the_next_fence_and_names_run_and_fence_in_the_token(
    fence_before: int,
) -> None:
    started = _claim(_assigned(lease_fence=fence_before), run_id="run_xyz")
    assert started.lease.fence == fence_before + 1
    assert started.decision.issue.lease_fence == fence_before + 1
    assert started.lease.token == f"run_xyz.{fence_before + 1}"
    assert started.lease.run_id == "run_xyz"
    assert started.lease.issue_id == started.decision.issue.id


@pytest.mark.parametrize("seconds", [LEASE_SECONDS[0], LEASE_SECONDS[2], 300, LEASE_SECONDS[1]])
def test_a_new_lease_expires_lease_seconds_after_the_claim(seconds: int) -> None:
    started = _claim(_assigned(), lease_seconds=seconds, at=timedelta(minutes=7))
    lease = started.lease
    assert lease.granted_at == NOW + timedelta(minutes=7)
    assert lease.expires_at == NOW + timedelta(minutes=7, seconds=seconds)
    assert lease.lease_seconds == seconds
    assert lease.renewals == 0
    assert lease.active
    assert (lease.released_at, lease.release_reason) == (None, None)


def test_claiming_a_queued_team_issue_assigns_it_to_the_claimer_and_starts_it_at_once() -> None:
    issue = make_issue(S.QUEUED, version=3)
    assert issue.assigned_agent_id is None
    started = _claim(issue)
    after = started.decision.issue
    assert after.status is S.RUNNING
    assert after.assigned_agent_id == AGENT.id
    assert after.assigned_team_id == TEAM
    assert after.current_run_id == RUN_ID
    assert after.attempts == 1
    assigned, begun = started.decision.events
    assert isinstance(assigned, IssueAssigned)
    assert isinstance(begun, IssueStarted)
    assert (assigned.from_status, assigned.to_status) == (S.QUEUED, S.ASSIGNED)
    assert (begun.from_status, begun.to_status) == (S.ASSIGNED, S.RUNNING)
    assert [assigned.version, begun.version] == [4, 5]
    assert after.version == 5
    assert_events_are_contiguous(issue, started.decision)


def test_a_paused_agent_cannot_claim() -> None:
    with pytest.raises(AgentUnavailable):
        _claim(_assigned(assigned_agent_id="agt_paused"), paused())


@pytest.mark.parametrize(("capacity", "running"), [(1, 1), (2, 2), (2, 5), (0, 0)], ids=str)
def test_an_agent_running_capacity_issues_cannot_claim_another(capacity: int, running: int) -> None:
    with pytest.raises(AtCapacity):
        _claim(_assigned(), make_agent(AGENT.id, capacity=capacity), running=running)


def test_an_agent_below_capacity_may_claim() -> None:
    started = _claim(_assigned(), make_agent(AGENT.id, capacity=3), running=2)
    assert started.decision.issue.status is S.RUNNING


def test_capacity_counts_running_issues_not_the_agents_whole_load() -> None:
    busy_inbox = make_agent(AGENT.id, capacity=1, load=7)
    started = _claim(_assigned(), busy_inbox, running=0)
    assert started.decision.issue.status is S.RUNNING


@pytest.mark.parametrize("status", [S.ASSIGNED, S.QUEUED])
def test_a_blocked_issue_cannot_be_claimed(status: IssueStatus) -> None:
    issue = _assigned() if status is S.ASSIGNED else make_issue(S.QUEUED)
    with pytest.raises(Blocked):
        _claim(issue, blocked=True)


@pytest.mark.parametrize("status", NOT_CLAIMABLE_LIVE)
def test_an_issue_that_is_not_queued_or_assigned_cannot_be_claimed(status: IssueStatus) -> None:
    issue = make_issue(status, assigned_agent_id=AGENT.id)
    with pytest.raises(InvalidTransition) as caught:
        _claim(issue)
    assert caught.value.extra["currentStatus"] == str(status)


def test_a_running_issue_is_never_claimed_a_second_time() -> None:
    first = _running()
    with pytest.raises(InvalidTransition):
        _claim(first.decision.issue, make_agent("agt_2"), run_id="run_b")


@pytest.mark.parametrize("status", DEAD)
def test_a_terminal_issue_cannot_be_claimed(status: IssueStatus) -> None:
    with pytest.raises(Frozen):
        _claim(make_issue(status, assigned_agent_id=AGENT.id))


# --- fences only grow ------------------------------------------------------------------


def test_fences_grow_and_tokens_differ_across_claim_fail_claim_expire_claim() -> None:
    first = _running(lease_fence=4)
    failed = _fail(first, retryable=True)
    second = _claim(failed.decision.issue, run_id="run_b", at=timedelta(minutes=1))
    expired = _expire(second)
    third = _claim(expired.decision.issue, run_id="run_c", at=timedelta(minutes=5))

    fences = [s.lease.fence for s in (first, second, third)]
    assert fences == [5, 6, 7]
    assert len({s.lease.token for s in (first, second, third)}) == 3
    assert [s.run.attempt for s in (first, second, third)] == [1, 2, 3]
    assert third.decision.issue.lease_fence == 7


def test_a_fence_is_not_reused_even_when_the_same_run_id_is_claimed_again() -> None:
    first = _running()
    requeued = _fail(first, retryable=True)
    again = _claim(requeued.decision.issue, run_id=first.run.id)
    assert again.lease.fence > first.lease.fence
    assert again.lease.token != first.lease.token
    _stale(again.run, again.lease, first.lease.token)


def test_rework_after_a_rejected_review_gets_a_higher_fence() -> None:
    first = _running()
    done = _complete(first)
    rejected = review_issue(
        done.decision.issue, accept=False, now=NOW + timedelta(hours=1), actor=USER, comment="no"
    )
    assert rejected.issue.status is S.ASSIGNED
    rework = _claim(rejected.issue, run_id="run_b")
    assert rework.lease.fence == first.lease.fence + 1
    assert rework.run.attempt == first.run.attempt + 1


def test_the_previous_runs_token_is_stale_against_the_new_lease() -> None:
    first = _running()
    second = _claim(_expire(first).decision.issue, run_id="run_b")
    error = _stale(second.run, second.lease, first.lease.token)
    assert error.extra["stop"] is True
    assert check_lease(second.run, second.lease, second.lease.token) == second.lease


# --- check_lease -----------------------------------------------------------------------


def test_the_current_token_of_an_active_run_passes_and_returns_the_lease() -> None:
    started = _running()
    assert check_lease(started.run, started.lease, started.lease.token) is started.lease


def test_the_current_token_still_passes_after_a_checkpoint_renews_the_lease() -> None:
    started = _running()
    renewed = renew_lease(started.lease, NOW + timedelta(seconds=20))
    assert check_lease(started.run, renewed, started.lease.token) == renewed


@pytest.mark.parametrize(
    "token",
    ["run_a.4", "run_a.3", "run_a.6", "run_b.5", "", "run_a"],
    ids=["older-fence", "much-older-fence", "unknown-fence", "other-run", "empty", "no-fence"],
)
def test_a_token_that_is_not_the_current_lease_is_stale_and_says_stop(token: str) -> None:
    started = _running(lease_fence=4)
    assert started.lease.token == "run_a.5"
    error = _stale(started.run, started.lease, token)
    assert error.extra["stop"] is True
    assert "stopReason" not in error.extra


@pytest.mark.parametrize("reason", sorted(STOP_REASONS))
def test_a_run_ended_by_someone_else_tells_its_agent_to_stop_and_why(reason: ExitReason) -> None:
    started = _running()
    run, lease = end_run_by_others(
        started.run, started.lease, now=NOW + timedelta(seconds=5), reason=reason
    )
    assert run is not None
    error = _stale(run, lease, started.lease.token)
    assert error.extra == {"stop": True, "stopReason": str(reason)}
    assert error.extra["stopReason"] == reason.value


def test_the_stop_reasons_are_the_ones_api_md_lists() -> None:
    assert {str(r) for r in STOP_REASONS} == {
        "cancelled",
        "reassigned",
        "lease_expired",
        "dependency_failed",
        "budget_exceeded",
    }


def test_after_the_sweep_expires_a_lease_the_agent_is_told_lease_expired() -> None:
    started = _running()
    expired = _expire(started)
    error = _stale(expired.run, expired.lease, started.lease.token)
    assert error.extra == {"stop": True, "stopReason": "lease_expired"}


@pytest.mark.parametrize(
    "end",
    [
        _complete,
        lambda s: _fail(s, retryable=False),
        lambda s: _fail(s, retryable=True),
        lambda s: handoff_run(
            s.decision.issue, s.run, s.lease, now=NOW + timedelta(seconds=9), reason="stuck"
        ),
    ],
    ids=["completed", "failed", "failed-retryable", "handoff"],
)
def test_a_run_the_agent_ended_itself_is_stale_with_stop_but_no_stop_reason(
    end: Callable[[Started], Ended],
) -> None:
    started = _running()
    ended = end(started)
    error = _stale(ended.run, ended.lease, started.lease.token)
    assert error.extra == {"stop": True}


def test_no_lease_at_all_is_stale() -> None:
    started = _running()
    error = _stale(started.run, None, started.lease.token)
    assert error.extra["stop"] is True


def test_a_released_lease_is_stale_even_with_its_own_token_on_a_still_active_run() -> None:
    started = _running()
    released = replace(started.lease, released_at=NOW, release_reason="reassigned")
    assert started.run.active
    _stale(started.run, released, started.lease.token)


def test_a_matching_active_lease_of_an_ended_run_is_still_stale() -> None:
    started = _running()
    ended_run = replace(started.run, ended_at=NOW, exit_reason=ExitReason.CANCELLED)
    error = _stale(ended_run, started.lease, started.lease.token)
    assert error.extra["stopReason"] == "cancelled"


# --- renew_lease -----------------------------------------------------------------------


def test_a_checkpoint_moves_expiry_to_now_plus_lease_seconds_not_old_expiry_plus() -> None:
    started = _claim(_assigned(), lease_seconds=60)
    at = NOW + timedelta(seconds=45)
    renewed = renew_lease(started.lease, at)
    assert renewed.expires_at == at + timedelta(seconds=60) == NOW + timedelta(seconds=105)
    assert renewed.expires_at != started.lease.expires_at + timedelta(seconds=60)


def test_a_checkpoint_counts_a_renewal_and_keeps_the_token_fence_and_grant() -> None:
    lease = _running().lease
    renewed = renew_lease(lease, NOW + timedelta(seconds=10))
    assert renewed.renewals == lease.renewals + 1 == 1
    assert (renewed.token, renewed.fence, renewed.run_id) == (
        lease.token,
        lease.fence,
        lease.run_id,
    )
    assert renewed.granted_at == lease.granted_at
    assert renewed.lease_seconds == lease.lease_seconds
    assert renewed.active


def test_many_checkpoints_count_every_renewal_and_expiry_follows_the_last_one() -> None:
    lease = _claim(_assigned(), lease_seconds=30).lease
    for step in range(1, 6):
        lease = renew_lease(lease, NOW + timedelta(seconds=20 * step))
    assert lease.renewals == 5
    assert lease.expires_at == NOW + timedelta(seconds=100 + 30)


def test_a_checkpoint_never_mutates_the_lease_it_renews() -> None:
    lease = _running().lease
    before = replace(lease)
    renew_lease(lease, NOW + timedelta(seconds=50))
    assert lease == before


# --- complete_run ----------------------------------------------------------------------


def test_completing_moves_the_issue_to_review_and_clears_the_run() -> None:
    started = _running()
    ended = _complete(started, result={"pr": 12})
    after = ended.decision.issue
    assert after.status is S.REVIEW
    assert after.current_run_id is None
    assert after.assigned_agent_id == AGENT.id
    (event,) = ended.decision.events
    assert isinstance(event, IssueInReview)
    assert (event.from_status, event.to_status, event.actor) == (S.RUNNING, S.REVIEW, ACTOR)


def test_completing_ends_the_run_completed_with_the_result_in_its_details() -> None:
    ended = _complete(_running(), result={"pr": 12}, at=timedelta(seconds=42))
    assert ended.run.ended_at == NOW + timedelta(seconds=42)
    assert ended.run.exit_reason is ExitReason.COMPLETED
    assert ended.run.exit_details == {"result": {"pr": 12}}
    assert not ended.run.active


def test_completing_without_a_result_leaves_no_exit_details() -> None:
    assert _complete(_running(), result=None).run.exit_details is None


def test_completing_releases_the_lease_with_reason_completed() -> None:
    ended = _complete(_running(), at=timedelta(seconds=42))
    assert ended.lease is not None
    assert ended.lease.released_at == NOW + timedelta(seconds=42)
    assert ended.lease.release_reason == "completed"
    assert not ended.lease.active


def test_completing_records_the_workspace_url_or_keeps_the_runs_earlier_one() -> None:
    started = _running()
    assert _complete(started, workspace_url="https://ws/1").run.workspace_url == "https://ws/1"
    earlier = Started(
        started.decision, replace(started.run, workspace_url="https://ws/0"), started.lease
    )
    assert _complete(earlier, workspace_url=None).run.workspace_url == "https://ws/0"


@pytest.mark.parametrize("status", [S.REVIEW, S.ASSIGNED, S.HANDOFF, S.QUEUED])
def test_only_a_running_issue_can_be_completed(status: IssueStatus) -> None:
    started = _running()
    off = Started(Decision(make_issue(status), ()), started.run, started.lease)
    with pytest.raises(InvalidTransition):
        _complete(off)


# --- handoff_run -----------------------------------------------------------------------


def test_handing_off_moves_the_issue_to_handoff_and_ends_the_run_handoff() -> None:
    started = _running()
    at = NOW + timedelta(seconds=12)
    ended = handoff_run(
        started.decision.issue, started.run, started.lease, now=at, reason="needs a human"
    )
    assert ended.decision.issue.status is S.HANDOFF
    assert ended.decision.issue.current_run_id is None
    (event,) = ended.decision.events
    assert isinstance(event, IssueHandedOff)
    assert (event.actor, event.reason) == (ACTOR, "needs a human")
    assert ended.run.exit_reason is ExitReason.HANDOFF
    assert ended.run.exit_details == {"reason": "needs a human"}
    assert ended.run.ended_at == at
    assert ended.lease is not None
    assert (ended.lease.released_at, ended.lease.release_reason) == (at, "handoff")


# --- fail_run --------------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [0, 1])
def test_a_non_retryable_failure_fails_the_issue_even_with_attempts_left(attempts: int) -> None:
    started = _running(attempts=attempts, max_attempts=3)
    assert started.decision.issue.attempts < 3
    ended = _fail(started, retryable=False)
    assert ended.decision.issue.status is S.FAILED
    assert ended.decision.issue.current_run_id is None
    (event,) = ended.decision.events
    assert isinstance(event, IssueFailed)
    assert (event.actor, event.reason) == (ACTOR, "tests do not pass")


def test_a_failure_ends_the_run_failed_and_releases_the_lease_failed() -> None:
    ended = _fail(_running(), retryable=False, at=timedelta(seconds=33))
    assert ended.run.exit_reason is ExitReason.FAILED
    assert ended.run.ended_at == NOW + timedelta(seconds=33)
    assert ended.run.exit_details == {
        "reason": "tests do not pass",
        "details": {"failing": 3},
        "retryable": False,
    }
    assert ended.lease is not None
    assert ended.lease.release_reason == "failed"
    assert ended.lease.released_at == NOW + timedelta(seconds=33)


def test_a_retryable_failure_of_a_team_issue_goes_back_to_the_team_queue_without_agent() -> None:
    started = _running(team=True, max_attempts=3)
    ended = _fail(started, retryable=True)
    after = ended.decision.issue
    assert after.status is S.QUEUED
    assert after.assigned_agent_id is None
    assert after.assigned_team_id == TEAM
    assert after.current_run_id is None
    assert after.attempts == 1
    assert _event_types(ended.decision) == [IssueRequeued]
    assert ended.run.exit_details is not None
    assert ended.run.exit_details["retryable"] is True


def test_a_retryable_failure_of_an_agents_issue_goes_straight_back_to_that_active_agent() -> None:
    started = _running(team=False, max_attempts=3)
    ended = _fail(started, retryable=True, agent=AGENT)
    after = ended.decision.issue
    assert after.status is S.ASSIGNED
    assert after.assigned_agent_id == AGENT.id
    assert after.current_run_id is None
    requeued, assigned = ended.decision.events
    assert isinstance(requeued, IssueRequeued)
    assert isinstance(assigned, IssueAssigned)
    assert (requeued.from_status, requeued.to_status) == (S.RUNNING, S.QUEUED)
    assert (assigned.from_status, assigned.to_status) == (S.QUEUED, S.ASSIGNED)
    assert requeued.actor == ACTOR
    assert assigned.actor == DISPATCHER
    assert_events_are_contiguous(started.decision.issue, ended.decision)


@pytest.mark.parametrize("agent", [paused(AGENT.id), None], ids=["agent-paused", "agent-unknown"])
def test_a_retryable_failure_waits_queued_for_its_agent_when_it_is_not_active(
    agent: AgentLoad | None,
) -> None:
    ended = _fail(_running(team=False), retryable=True, agent=agent)
    after = ended.decision.issue
    assert after.status is S.QUEUED
    assert after.assigned_agent_id == AGENT.id
    assert _event_types(ended.decision) == [IssueRequeued]


def test_a_team_issue_is_not_handed_back_to_its_last_agent_even_when_active() -> None:
    ended = _fail(_running(team=True), retryable=True, agent=AGENT)
    assert ended.decision.issue.status is S.QUEUED
    assert ended.decision.issue.assigned_agent_id is None


@pytest.mark.parametrize("team", [True, False], ids=["team", "agent"])
@pytest.mark.parametrize("max_attempts", [1, 2, 5])
def test_a_retryable_failure_of_the_last_allowed_attempt_fails_the_issue(
    team: bool, max_attempts: int
) -> None:
    started = _running(team=team, attempts=max_attempts - 1, max_attempts=max_attempts)
    assert started.decision.issue.attempts == max_attempts
    ended = _fail(started, retryable=True)
    assert ended.decision.issue.status is S.FAILED
    assert _event_types(ended.decision) == [IssueFailed]
    assert ended.run.exit_reason is ExitReason.FAILED


@pytest.mark.parametrize("max_attempts", [2, 3, 5])
def test_a_retryable_failure_one_attempt_short_of_the_limit_retries(max_attempts: int) -> None:
    started = _running(attempts=max_attempts - 2, max_attempts=max_attempts)
    assert started.decision.issue.attempts == max_attempts - 1
    assert _fail(started, retryable=True).decision.issue.status is S.QUEUED


# --- expire_lease ----------------------------------------------------------------------


def test_an_expired_lease_is_ended_by_the_sweeper_with_reason_lease_expired() -> None:
    started = _running()
    ended = _expire(started)
    expiry = started.lease.expires_at
    (event,) = ended.decision.events
    assert isinstance(event, IssueRequeued)
    assert event.actor == SWEEPER
    assert event.reason == "lease expired"
    assert ended.run.exit_reason is ExitReason.LEASE_EXPIRED
    assert ended.run.ended_at == expiry
    assert ended.lease is not None
    assert (ended.lease.released_at, ended.lease.release_reason) == (expiry, "lease_expired")
    assert not ended.lease.active


def test_an_expired_lease_of_a_team_issue_requeues_it_for_the_team() -> None:
    ended = _expire(_running(team=True))
    assert ended.decision.issue.status is S.QUEUED
    assert ended.decision.issue.assigned_agent_id is None
    assert ended.decision.issue.current_run_id is None


def test_an_expired_lease_of_an_agents_issue_returns_it_to_that_active_agent() -> None:
    ended = _expire(_running(team=False), agent=AGENT)
    after = ended.decision.issue
    assert after.status is S.ASSIGNED
    assert after.assigned_agent_id == AGENT.id
    assert _event_types(ended.decision) == [IssueRequeued, IssueAssigned]
    assert [e.actor for e in ended.decision.events] == [SWEEPER, DISPATCHER]


def test_an_expired_lease_of_a_paused_agents_issue_waits_queued_for_it() -> None:
    ended = _expire(_running(team=False), agent=paused(AGENT.id))
    assert ended.decision.issue.status is S.QUEUED
    assert ended.decision.issue.assigned_agent_id == AGENT.id


@pytest.mark.parametrize("team", [True, False], ids=["team", "agent"])
@pytest.mark.parametrize("max_attempts", [1, 3])
def test_an_expired_lease_on_the_last_allowed_attempt_fails_the_issue(
    team: bool, max_attempts: int
) -> None:
    started = _running(team=team, attempts=max_attempts - 1, max_attempts=max_attempts)
    ended = _expire(started)
    assert ended.decision.issue.status is S.FAILED
    (event,) = ended.decision.events
    assert isinstance(event, IssueFailed)
    assert event.actor == SWEEPER
    assert ended.run.exit_reason is ExitReason.LEASE_EXPIRED


def test_expiry_after_renewals_is_measured_from_the_last_checkpoint() -> None:
    started = _running()
    renewed = renew_lease(started.lease, NOW + timedelta(seconds=50))
    live = Started(started.decision, started.run, renewed)
    ended = _expire(live)
    assert ended.run.ended_at == NOW + timedelta(seconds=110)
    assert ended.lease is not None
    assert ended.lease.renewals == 1


# --- end_run_by_others -----------------------------------------------------------------


@pytest.mark.parametrize(
    "reason",
    [
        ExitReason.CANCELLED,
        ExitReason.REASSIGNED,
        ExitReason.DEPENDENCY_FAILED,
        ExitReason.BUDGET_EXCEEDED,
    ],
)
def test_someone_elses_command_ends_the_active_run_and_frees_its_lease(
    reason: ExitReason,
) -> None:
    started = _running()
    at = NOW + timedelta(seconds=17)
    run, lease = end_run_by_others(started.run, started.lease, now=at, reason=reason)
    assert run is not None
    assert lease is not None
    assert (run.ended_at, run.exit_reason) == (at, reason)
    assert not run.active
    assert (lease.released_at, lease.release_reason) == (at, str(reason))
    assert not lease.active
    assert lease.token == started.lease.token


def test_ending_a_run_that_already_ended_changes_nothing() -> None:
    ended = _complete(_running(), result={"ok": True})
    run, lease = end_run_by_others(
        ended.run, ended.lease, now=NOW + timedelta(hours=2), reason=ExitReason.CANCELLED
    )
    assert run == ended.run
    assert lease == ended.lease
    assert run is not None
    assert run.exit_reason is ExitReason.COMPLETED
    assert lease is not None
    assert lease.release_reason == "completed"


def test_ending_no_run_changes_nothing() -> None:
    assert end_run_by_others(None, None, now=NOW, reason=ExitReason.CANCELLED) == (None, None)


def test_ending_an_active_run_without_a_lease_still_ends_the_run() -> None:
    started = _running()
    run, lease = end_run_by_others(started.run, None, now=NOW, reason=ExitReason.REASSIGNED)
    assert lease is None
    assert run is not None
    assert run.exit_reason is ExitReason.REASSIGNED


# --- review_issue ----------------------------------------------------------------------


def _in_review() -> Issue:
    return _complete(_running()).decision.issue


def test_accepting_a_review_marks_the_issue_done() -> None:
    issue = _in_review()
    later = NOW + timedelta(hours=3)
    decision = review_issue(issue, accept=True, now=later, actor=USER, comment="lgtm")
    assert decision.issue.status is S.DONE
    assert decision.issue.updated_at == later
    (event,) = decision.events
    assert isinstance(event, IssueDone)
    assert (event.actor, event.reason) == (USER, "lgtm")


def test_rejecting_a_review_sends_it_back_to_the_same_agent() -> None:
    issue = _in_review()
    decision = review_issue(issue, accept=False, now=NOW, actor=USER, comment="redo")
    assert decision.issue.status is S.ASSIGNED
    assert decision.issue.assigned_agent_id == issue.assigned_agent_id == AGENT.id
    assert decision.issue.assigned_team_id == issue.assigned_team_id
    (event,) = decision.events
    assert isinstance(event, IssueRejected)
    assert (event.from_status, event.to_status) == (S.REVIEW, S.ASSIGNED)


@pytest.mark.parametrize("accept", [True, False], ids=["accept", "reject"])
@pytest.mark.parametrize("status", sorted(NON_TERMINAL - {S.REVIEW}))
def test_only_an_issue_in_review_can_be_reviewed(status: IssueStatus, accept: bool) -> None:
    with pytest.raises(InvalidTransition):
        review_issue(make_issue(status), accept=accept, now=NOW, actor=USER, comment=None)


@pytest.mark.parametrize("accept", [True, False], ids=["accept", "reject"])
@pytest.mark.parametrize("status", DEAD)
def test_a_terminal_issue_cannot_be_reviewed(status: IssueStatus, accept: bool) -> None:
    with pytest.raises(Frozen):
        review_issue(make_issue(status), accept=accept, now=NOW, actor=USER, comment=None)


# --- versions --------------------------------------------------------------------------


def _started_decision(issue: Issue) -> tuple[Issue, Decision]:
    return issue, _claim(issue).decision


def _ended_decision(started: Started, end: Callable[[Started], Ended]) -> tuple[Issue, Decision]:
    return started.decision.issue, end(started).decision


DECISIONS: dict[str, Callable[[], tuple[Issue, Decision]]] = {
    "claim-assigned": lambda: _started_decision(_assigned()),
    "claim-queued-team": lambda: _started_decision(make_issue(S.QUEUED, version=9)),
    "complete": lambda: _ended_decision(_running(), _complete),
    "handoff": lambda: _ended_decision(
        _running(),
        lambda s: handoff_run(s.decision.issue, s.run, s.lease, now=NOW, reason="help"),
    ),
    "fail-final": lambda: _ended_decision(_running(), lambda s: _fail(s, retryable=False)),
    "fail-retry-team": lambda: _ended_decision(_running(), lambda s: _fail(s, retryable=True)),
    "fail-retry-agent": lambda: _ended_decision(
        _running(team=False), lambda s: _fail(s, retryable=True)
    ),
    "fail-retry-paused": lambda: _ended_decision(
        _running(team=False), lambda s: _fail(s, retryable=True, agent=paused(AGENT.id))
    ),
    "fail-last-attempt": lambda: _ended_decision(
        _running(attempts=2, max_attempts=3), lambda s: _fail(s, retryable=True)
    ),
    "expire-team": lambda: _ended_decision(_running(), _expire),
    "expire-agent": lambda: _ended_decision(_running(team=False), _expire),
    "expire-last-attempt": lambda: _ended_decision(_running(attempts=2, max_attempts=3), _expire),
    "review-accept": lambda: (
        _in_review(),
        review_issue(_in_review(), accept=True, now=NOW, actor=USER, comment=None),
    ),
    "review-reject": lambda: (
        _in_review(),
        review_issue(_in_review(), accept=False, now=NOW, actor=USER, comment=None),
    ),
}


@pytest.mark.parametrize("make", DECISIONS.values(), ids=DECISIONS.keys())
def test_every_decision_has_contiguous_event_versions_ending_at_the_issue_version(
    make: Callable[[], tuple[Issue, Decision]],
) -> None:
    before, decision = make()
    assert decision.events
    assert_events_are_contiguous(before, decision)
    assert decision.issue.version == before.version + len(decision.events)


# --- property: one issue, any sequence of claim / checkpoint / fail / expire -----------

_OPS = st.sampled_from(["claim", "checkpoint", "fail", "expire"])


class _Walk:
    """One issue and every lease ever granted on it, driven by a fake clock."""

    def __init__(self, issue: Issue) -> None:
        self.issue = issue
        self.now = NOW
        self.leases: dict[str, Lease] = {}  # by token, as last seen
        self.current: Started | None = None  # the live run with its latest lease
        self.fences: list[int] = []
        self.gave_up = False  # the last run ended with retryable=False

    def claim(self, n: int, seconds: int) -> Decision | None:
        try:
            started = claim_issue(
                self.issue,
                AGENT,
                running=0,  # even a caller that miscounts cannot get a second lease
                blocked=False,
                run_id=f"run_{n}",
                lease_seconds=seconds,
                now=self.now,
            )
        except InvalidTransition:
            assert self.current is not None
            assert self.issue.status is S.RUNNING
            return None
        assert self.current is None
        assert all(started.lease.fence > f for f in self.fences)
        assert started.lease.token not in self.leases
        assert started.lease.expires_at == self.now + timedelta(seconds=seconds)
        for old_token in self.leases:
            _stale(started.run, started.lease, old_token)
        self.fences.append(started.lease.fence)
        self.leases[started.lease.token] = started.lease
        self.current = started
        return started.decision

    def checkpoint(self) -> None:
        assert self.current is not None
        run, lease = self.current.run, self.current.lease
        assert check_lease(run, lease, lease.token) == lease
        renewed = renew_lease(lease, self.now)
        assert renewed.expires_at == self.now + timedelta(seconds=renewed.lease_seconds)
        assert (renewed.token, renewed.renewals) == (lease.token, lease.renewals + 1)
        self.leases[lease.token] = renewed
        self.current = Started(self.current.decision, run, renewed)

    def end(self, op: str, *, retryable: bool, agent: AgentLoad | None) -> Decision:
        assert self.current is not None
        live = self.current
        assert live.decision.issue == self.issue
        if op == "fail":
            ended = fail_run(
                self.issue,
                live.run,
                live.lease,
                now=self.now,
                reason="r",
                details=None,
                retryable=retryable,
                agent=agent,
            )
        else:
            retryable = True
            self.now = max(self.now, live.lease.expires_at)
            ended = expire_lease(self.issue, live.run, live.lease, now=self.now, agent=agent)
        self.gave_up = not retryable
        assert ended.lease is not None
        assert not ended.lease.active
        assert not ended.run.active
        self.leases[live.lease.token] = ended.lease
        stop = _stale(ended.run, ended.lease, live.lease.token)
        assert stop.extra.get("stopReason") == ("lease_expired" if op == "expire" else None)
        failed = ended.decision.issue.status is S.FAILED
        assert failed == (not retryable or self.issue.attempts == self.issue.max_attempts)
        self.current = None
        return ended.decision

    def apply(self, before: Issue, decision: Decision) -> None:
        assert_events_are_contiguous(before, decision)
        self.issue = issue = decision.issue
        active = [lease for lease in self.leases.values() if lease.active]
        assert len(active) <= 1
        assert (len(active) == 1) == (issue.status is S.RUNNING)
        if self.current is None:
            assert issue.current_run_id is None
        else:
            assert issue.current_run_id == self.current.run.id
            assert active[0].token == self.current.lease.token
        assert issue.attempts == len(self.fences) <= issue.max_attempts
        assert issue.lease_fence == (self.fences[-1] if self.fences else before.lease_fence)


@settings(max_examples=400, deadline=None, database=None)
@given(data=st.data())
def test_any_sequence_keeps_one_lease_growing_fences_and_fails_only_at_the_limit(
    data: st.DataObject,
) -> None:
    max_attempts = data.draw(st.integers(1, 5), label="max_attempts")
    walk = _Walk(
        _assigned(
            team=data.draw(st.booleans(), label="team"),
            max_attempts=max_attempts,
            lease_fence=data.draw(st.integers(0, 100), label="fence"),
        )
    )
    for n, op in enumerate(data.draw(st.lists(_OPS, max_size=30), label="ops")):
        if walk.issue.status is S.FAILED:
            with pytest.raises(Frozen):
                _claim(walk.issue, at=walk.now - NOW)
            break
        walk.now += timedelta(seconds=data.draw(st.integers(0, 90)))
        before = walk.issue
        if op == "claim":
            decision = walk.claim(n, data.draw(st.integers(LEASE_SECONDS[0], LEASE_SECONDS[1])))
            if decision is not None:
                walk.apply(before, decision)
        elif walk.current is None:
            continue
        elif op == "checkpoint":
            walk.checkpoint()
        else:
            retryable = data.draw(st.booleans(), label="retryable")
            agent = data.draw(st.sampled_from([AGENT, paused(AGENT.id), None]), label="agent")
            walk.apply(before, walk.end(op, retryable=retryable, agent=agent))

    issue = walk.issue
    assert walk.fences == sorted(set(walk.fences))
    all_runs_ended = walk.current is None and bool(walk.fences)
    assert (issue.status is S.FAILED) == (
        walk.gave_up or (all_runs_ended and issue.attempts == max_attempts)
    )
    if issue.status is not S.FAILED:
        assert issue.status in {S.ASSIGNED, S.QUEUED, S.RUNNING}
        assert issue.attempts < max_attempts or walk.current is not None


def test_exhausting_every_attempt_by_expiry_fails_the_issue_exactly_at_the_limit() -> None:
    issue = _assigned(max_attempts=3)
    statuses: list[IssueStatus] = []
    for attempt in range(3):
        started = _claim(issue, run_id=f"run_{attempt}", at=timedelta(minutes=5 * attempt))
        issue = _expire(started).decision.issue
        statuses.append(issue.status)
    assert statuses == [S.QUEUED, S.QUEUED, S.FAILED]
    assert issue.attempts == 3
    with pytest.raises(DomainError):
        _claim(issue, run_id="run_late")


def test_a_failed_dependency_hands_off_a_running_issue_and_ends_its_run() -> None:
    issue = make_issue(S.RUNNING, attempts=1)
    run = Run("run_1", issue.id, "agt_previous", 1, NOW - timedelta(minutes=5))
    lease = Lease("run_1.1", "run_1", issue.id, 1, 60, NOW, NOW + timedelta(seconds=60))
    ended = hand_off_for_dependency(
        issue, run, lease, dependency_id="iss_up", dependency_status=S.FAILED, now=NOW
    )
    assert ended is not None
    assert ended.decision.issue.status is S.HANDOFF
    assert ended.decision.issue.current_run_id is None
    assert ended.run is not None and ended.run.exit_reason is ExitReason.DEPENDENCY_FAILED
    assert ended.lease is not None and ended.lease.release_reason == "dependency_failed"
    (event,) = ended.decision.events
    assert event.reason == "dependency iss_up ended failed"


@pytest.mark.parametrize("status", [S.QUEUED, S.ASSIGNED, S.REVIEW, S.HANDOFF])
def test_a_cancelled_dependency_hands_off_every_live_dependent(status: IssueStatus) -> None:
    ended = hand_off_for_dependency(
        make_issue(status),
        None,
        None,
        dependency_id="iss_up",
        dependency_status=S.CANCELLED,
        now=NOW,
    )
    assert ended is not None and ended.decision.issue.status is S.HANDOFF
    assert ended.run is None


@pytest.mark.parametrize("status", [S.DONE, S.FAILED, S.CANCELLED])
def test_a_terminal_dependent_is_left_alone_when_a_dependency_fails(status: IssueStatus) -> None:
    ended = hand_off_for_dependency(
        make_issue(status),
        None,
        None,
        dependency_id="iss_up",
        dependency_status=S.FAILED,
        now=NOW,
    )
    assert ended is None
