"""Cost reports and the budget cap (``domain.costs``), and approvals (``domain.approvals``).

docs/api.md "Costs and budgets", "Review, approvals, activity, costs". Pure rules: the clock is
``NOW`` plus ``timedelta`` steps.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit_builders import NOW, USER, assert_events_are_contiguous, make_agent, make_issue

from domain.approvals import (
    ApprovalNotPending,
    ApprovalStatus,
    decide_approval,
    expire_approval,
    expire_with_run,
    request_approval,
)
from domain.costs import BUDGET_ACTOR, CostReported, Usage, report_cost, thresholds_crossed
from domain.errors import InvalidRequest
from domain.events import (
    ApprovalApproved,
    ApprovalExpired,
    ApprovalRejected,
    ApprovalRequested,
    BudgetThresholdReached,
    IssueHandedOff,
)
from domain.model import Issue
from domain.money import from_micros, to_micros
from domain.runs import SWEEPER, ExitReason, Started, claim_issue
from domain.statuses import IssueStatus, Trigger, is_allowed

S = IssueStatus
AGENT = make_agent("agt_1")


def _running(budget: str | None = "1.00", spent: str = "0") -> Started:
    issue = make_issue(
        S.ASSIGNED,
        assigned_agent_id=AGENT.id,
        budget_per_task_usd=None if budget is None else Decimal(budget),
        spent_usd=Decimal(spent),
    )
    return claim_issue(
        issue, AGENT, running=0, blocked=False, run_id="run_1", lease_seconds=60, now=NOW
    )


def _report(started: Started, *amounts: str) -> tuple[Issue, list[CostReported]]:
    """Report ``amounts`` in turn while the run lasts; the issue after, and each outcome."""
    issue, run, lease = started.decision.issue, started.run, started.lease
    outcomes: list[CostReported] = []
    for i, usd in enumerate(amounts):
        reported = report_cost(issue, run, lease, Usage(Decimal(usd)), now=NOW + timedelta(i))
        outcomes.append(reported)
        issue, run, lease = reported.decision.issue, reported.run, reported.lease
        if reported.stopped:
            break
    return issue, outcomes


def test_a_report_adds_to_the_run_and_to_the_issue_without_a_new_version() -> None:
    started = _running()
    reported = report_cost(
        started.decision.issue,
        started.run,
        started.lease,
        Usage(Decimal("0.42"), input_tokens=1200, output_tokens=300),
        now=NOW,
    )
    assert reported.decision.issue.spent_usd == Decimal("0.42")
    assert reported.decision.issue.version == started.decision.issue.version
    assert reported.decision.events == ()
    assert reported.run.cost_usd == Decimal("0.42")
    assert (reported.run.input_tokens, reported.run.output_tokens) == (1200, 300)
    assert not reported.stopped and reported.lease.active


def test_ten_thousand_reports_of_a_hundredth_of_a_cent_add_up_exactly() -> None:
    started = _running(budget=None)
    issue, run, lease = started.decision.issue, started.run, started.lease
    for _ in range(10_000):
        reported = report_cost(issue, run, lease, Usage(Decimal("0.0001")), now=NOW)
        issue, run = reported.decision.issue, reported.run
    assert issue.spent_usd == Decimal("1.0000") and run.cost_usd == Decimal(1)
    assert to_micros(issue.spent_usd) == 1_000_000
    assert sum([0.0001] * 10_000) != 1.0  # what floats would have given


def test_the_report_that_reaches_the_budget_stops_the_run_and_hands_the_issue_off() -> None:
    started = _running(budget="1.00")
    issue, outcomes = _report(started, "0.40", "0.40", "0.30", "0.50")
    assert len(outcomes) == 3  # the fourth report never happens: the run ended
    last = outcomes[-1]
    assert issue.status is S.HANDOFF and issue.current_run_id is None
    assert issue.spent_usd == Decimal("1.10")  # overrun: at most the crossing report
    assert last.stopped
    assert last.run.exit_reason is ExitReason.BUDGET_EXCEEDED
    assert last.lease.release_reason == "budget_exceeded"
    (event,) = last.decision.events
    assert isinstance(event, IssueHandedOff) and event.actor == BUDGET_ACTOR
    assert "1.10" in (event.reason or "")
    assert is_allowed(S.RUNNING, S.HANDOFF, Trigger.BUDGET_EXCEEDED)
    assert_events_are_contiguous(started.decision.issue, last.decision)


def test_spending_exactly_the_budget_reaches_it() -> None:
    issue, outcomes = _report(_running(budget="0.30"), "0.10", "0.20")
    assert issue.status is S.HANDOFF and issue.spent_usd == Decimal("0.30")
    assert len(outcomes) == 2


def test_without_a_budget_no_amount_stops_the_run() -> None:
    issue, outcomes = _report(_running(budget=None), *["1000000"] * 5)
    assert issue.status is S.RUNNING and len(outcomes) == 5
    assert issue.spent_usd == Decimal(5_000_000)


def test_a_zero_budget_stops_the_run_at_its_first_report_even_of_nothing() -> None:
    issue, outcomes = _report(_running(budget="0"), "0")
    assert issue.status is S.HANDOFF and len(outcomes) == 1


def test_an_issue_that_already_spent_its_budget_stops_at_the_next_report() -> None:
    issue, _ = _report(_running(budget="1.00", spent="1.20"), "0")
    assert issue.status is S.HANDOFF and issue.spent_usd == Decimal("1.20")


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("0", "0.49", []),
        ("0", "0.50", [50]),
        ("0.49", "0.81", [50, 80]),
        ("0.50", "0.79", []),
        ("0.79", "1.00", [80, 100]),
        ("0", "5", [50, 80, 100]),
        ("1.00", "1.50", []),
    ],
)
def test_thresholds_are_noted_once_when_spending_first_reaches_them(
    before: str, after: str, expected: list[int]
) -> None:
    assert thresholds_crossed(Decimal(before), Decimal(after), Decimal("1.00")) == expected
    assert thresholds_crossed(Decimal(before), Decimal(after), None) == []


def test_threshold_notes_keep_the_version_and_name_the_budget_actor() -> None:
    _, outcomes = _report(_running(budget="1.00"), "0.60")
    (note,) = outcomes[0].notes
    assert isinstance(note, BudgetThresholdReached) and note.actor == BUDGET_ACTOR
    assert note.type == "budget.threshold" and note.reason and "50%" in note.reason
    assert note.from_status is note.to_status is S.RUNNING


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(InvalidRequest):
        Usage(Decimal("-0.01"))
    with pytest.raises(InvalidRequest):
        Usage(Decimal(0), input_tokens=-1)


@settings(max_examples=200, deadline=None)
@given(
    budget=st.integers(min_value=0, max_value=5_000_000),
    reports=st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=1, max_size=40),
)
def test_the_overrun_is_never_more_than_the_report_that_crossed_the_cap(
    budget: int, reports: list[int]
) -> None:
    started = _running(budget=str(from_micros(budget)))
    issue, outcomes = _report(started, *(str(from_micros(m)) for m in reports))
    counted = reports[: len(outcomes)]
    assert to_micros(issue.spent_usd) == sum(counted)  # exact: every counted report, no more
    if issue.status is S.HANDOFF:
        assert sum(counted) >= budget
        assert sum(counted) - counted[-1] < budget or budget == 0
    else:
        assert sum(counted) < budget and len(outcomes) == len(reports)


def test_an_approval_is_asked_pending_and_decided_once() -> None:
    started = _running()
    issue = started.decision.issue
    approval, asked = request_approval(
        issue, started.run, approval_id="apr_1", action="send the email", details=None, now=NOW
    )
    assert approval.status is ApprovalStatus.PENDING and approval.agent_id == AGENT.id
    assert isinstance(asked, ApprovalRequested) and asked.version == issue.version
    assert asked.actor == f"agent:{AGENT.id}"
    later = NOW + timedelta(minutes=3)
    approved, event = decide_approval(
        approval, issue, approve=True, actor=USER, comment="go ahead", now=later
    )
    assert approved.status is ApprovalStatus.APPROVED and approved.decided_at == later
    assert (approved.decided_by, approved.comment) == (USER, "go ahead")
    assert isinstance(event, ApprovalApproved) and event.reason == "send the email: go ahead"
    with pytest.raises(ApprovalNotPending) as refused:
        decide_approval(approved, issue, approve=False, actor=USER, comment=None, now=later)
    assert refused.value.extra["currentStatus"] == "approved"
    assert refused.value.code == "invalid_transition"


def test_a_rejection_is_recorded_as_such() -> None:
    started = _running()
    approval, _ = request_approval(
        started.decision.issue, started.run, approval_id="apr_1", action="x", details={}, now=NOW
    )
    rejected, event = decide_approval(
        approval, started.decision.issue, approve=False, actor=USER, comment=None, now=NOW
    )
    assert rejected.status is ApprovalStatus.REJECTED and isinstance(event, ApprovalRejected)


def test_an_undecided_approval_expires_once_due_and_not_before() -> None:
    started = _running()
    issue = started.decision.issue
    approval, _ = request_approval(
        issue, started.run, approval_id="apr_1", action="x", details=None, now=NOW, expires_in_s=60
    )
    assert approval.expires_at == NOW + timedelta(seconds=60)
    assert expire_approval(approval, issue, actor=SWEEPER, now=NOW + timedelta(seconds=59)) is None
    expired = expire_approval(approval, issue, actor=SWEEPER, now=NOW + timedelta(seconds=60))
    assert expired is not None
    gone, event = expired
    assert gone.status is ApprovalStatus.EXPIRED and gone.decided_by == SWEEPER
    assert isinstance(event, ApprovalExpired) and event.version == issue.version
    decided, _ = decide_approval(
        approval, issue, approve=True, actor=USER, comment=None, now=NOW + timedelta(seconds=1)
    )
    assert expire_approval(decided, issue, actor=SWEEPER, now=NOW + timedelta(hours=1)) is None


def test_a_pending_approval_expires_with_its_run_once_undecided_and_names_the_exit() -> None:
    started = _running()
    issue = started.decision.issue
    approval, _ = request_approval(
        issue, started.run, approval_id="apr_1", action="deploy", details=None, now=NOW
    )
    after = issue.evolve(status=IssueStatus.DONE, version=issue.version + 1)
    expired = expire_with_run(approval, after, run_exit="completed", actor=USER)
    assert expired is not None
    gone, event = expired
    assert gone.status is ApprovalStatus.EXPIRED and gone.decided_by is None
    assert gone.decided_at is None  # nobody decided it
    assert isinstance(event, ApprovalExpired) and event.version == after.version
    assert event.to_status is IssueStatus.DONE and event.actor == USER
    assert event.reason == "deploy (the run ended: completed)"
    assert expire_with_run(gone, after, run_exit="completed", actor=USER) is None
