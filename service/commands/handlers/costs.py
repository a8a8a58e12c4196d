"""Command handler of cost reports: the run's cost, the issue's spend, the caps (the issue's
own ``perTaskUsd``, those of its ancestors whose budget includes their subtasks, and the
monthly ones of its agent, the agent's teams and the company)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain import costs as rules
from domain.budgets import BudgetScope, ScopeSpend, SubtreeSpend, judge, month_of
from domain.commands import ReportCost
from domain.events import BUDGET_EXCEEDED_TYPE, BUDGET_THRESHOLD_TYPE, BudgetThresholdReached
from domain.model import Issue
from domain.money import from_micros, to_micros
from domain.runs import Ended, ExitReason
from service.answers.common import money, wire
from service.answers.issues import IssueBudget, Spent
from service.answers.oversight import CostReported
from service.answers.runs import RunCost
from service.commands.context import Context
from service.commands.handlers.runs import agent_call, finish_run
from service.commands.registry import handles
from service.store import budgets as budgets_db
from service.store import runs as runs_db
from service.store.costs import CostRecord, record_cost
from service.webhooks.outbox import PendingEvent

__all__ = ["report_cost"]


def _budget_data(
    scope: str,
    scope_id: str,
    month: str | None,
    cap: Any,
    spent: Any,
    run_id: str,
    percent: int | None = None,
) -> dict[str, Any]:
    """``data.budget`` of a ``budget.*`` webhook event."""
    data: dict[str, Any] = {
        "scope": scope,
        "scopeId": scope_id,
        "month": month,
        "capUsd": money(cap),
        "spentUsd": money(spent),
        "runId": run_id,
    }
    if percent is not None:
        data["percent"] = percent
    return {"budget": data}


def _announce(
    ctx: Context,
    issues: tuple[Issue, Issue],
    run_id: str,
    month: str,
    spend: ScopeSpend,
    pcts: list[int],
) -> None:
    """The thresholds of a monthly cap this report reached: an activity entry each (on the
    issue as the report found it, like the issue's own thresholds) and a ``budget.threshold``
    event each (showing the issue after the report), and the highest remembered."""
    issue, after = issues
    budgets_db.mark_announced(ctx.conn, ctx.company_id, spend, month, max(pcts))
    for pct in pcts:
        reason = (
            f"{pct}% of the monthly budget of {spend.scope} {spend.scope_id} for {month} "
            f"spent: ${spend.spent_usd} of ${spend.cap_usd}"
        )
        ctx.record(
            [
                BudgetThresholdReached(
                    issue.id, issue.status, issue.status, issue.version, rules.BUDGET_ACTOR, reason
                )
            ]
        )
        more = _budget_data(
            str(spend.scope), spend.scope_id, month, spend.cap_usd, spend.spent_usd, run_id, pct
        )
        ctx.extra_webhooks.append(
            PendingEvent(BUDGET_THRESHOLD_TYPE, after, issue.status.value, rules.BUDGET_ACTOR, more)
        )


def _subtrees(
    ctx: Context, chain: list[budgets_db.Ancestor], subtree: dict[str, int]
) -> list[SubtreeSpend]:
    """The ancestors whose cap counts their subtasks, after this report (nearest first):
    their own spend is read now, under their subtree rows' locks."""
    counting = [a for a in chain if a.counts_subtasks]
    if not counting:
        return []
    own = budgets_db.own_spent(ctx.conn, [a.id for a in counting])
    return [
        SubtreeSpend(
            a.id,
            from_micros(own.get(a.id, 0)),
            from_micros(subtree.get(a.id, 0)),
            from_micros(a.cap_micros or 0),
        )
        for a in counting
    ]


def _announce_ancestors(
    ctx: Context, issues: tuple[Issue, Issue], run_id: str, usd: Decimal, ups: list[SubtreeSpend]
) -> None:
    """The thresholds of ancestors' caps this report reached (every report adding to an
    ancestor's total takes its row in turn, so each threshold is crossed once)."""
    issue, after = issues
    for up in ups:
        for pct in rules.thresholds_crossed(up.spent_usd - usd, up.spent_usd, up.cap_usd):
            reason = (
                f"{pct}% of the budget of parent issue {up.issue_id} (with its subtasks) "
                f"spent: ${up.spent_usd} of ${up.cap_usd}"
            )
            ctx.record(
                [
                    BudgetThresholdReached(
                        issue.id,
                        issue.status,
                        issue.status,
                        issue.version,
                        rules.BUDGET_ACTOR,
                        reason,
                    )
                ]
            )
            more = _budget_data(
                str(BudgetScope.ISSUE), up.issue_id, None, up.cap_usd, up.spent_usd, run_id, pct
            )
            ctx.extra_webhooks.append(
                PendingEvent(
                    BUDGET_THRESHOLD_TYPE, after, issue.status.value, rules.BUDGET_ACTOR, more
                )
            )


@handles(ReportCost)
def report_cost(cmd: ReportCost, ctx: Context) -> Any:
    issue, _, run, lease = agent_call(
        ctx, cmd.issue_id, cmd.run_id, cmd.lease_token, cmd.acting_agent_id
    )
    usage = rules.Usage(cmd.usd, cmd.input_tokens, cmd.output_tokens)
    micros = to_micros(usage.usd)
    # The month's spend of every scope the run counts in, with this report, under the
    # scopes' row locks (held to the commit: concurrent reports of one agent take turns).
    # A subtask adds to each ancestor's subtree row in the same statement (one query more,
    # the walk up; an issue without a parent pays nothing for it).
    month = month_of(ctx.now)
    scopes = budgets_db.agent_scopes(ctx.conn, ctx.company_id, run.agent_id)
    chain = (
        []
        if issue.parent_id is None
        else budgets_db.ancestors(ctx.conn, ctx.company_id, issue.parent_id)
    )
    lifetime = [(a.id, micros) for a in chain]
    if issue.budget_include_subtasks and issue.budget_per_task_usd is not None:
        lifetime.append((issue.id, 0))  # its subtasks' spend, read under its row lock
    monthly, subtree = budgets_db.add_spend(
        ctx.conn, ctx.company_id, scopes, month, micros, lifetime
    )
    verdict = judge(monthly)
    ups = _subtrees(ctx, chain, subtree)
    subtasks_usd = from_micros(subtree.get(issue.id, 0))
    reported = rules.report_cost(
        issue,
        run,
        lease,
        usage,
        now=ctx.now,
        monthly=verdict.stopped_by,
        subtasks_usd=subtasks_usd,
        ancestor=rules.ancestor_stop(ups),
    )
    ctx.record(reported.notes)
    after = reported.decision.issue
    # What counts against the issue's own cap: its spend, plus its subtasks' if included.
    counted = after.spent_usd + (subtasks_usd if after.budget_include_subtasks else 0)
    for pct in reported.own_thresholds:
        more = _budget_data(
            str(BudgetScope.ISSUE),
            issue.id,
            None,
            after.budget_per_task_usd,
            counted,
            run.id,
            pct,
        )
        ctx.extra_webhooks.append(
            PendingEvent(BUDGET_THRESHOLD_TYPE, after, issue.status.value, rules.BUDGET_ACTOR, more)
        )
    by_scope: dict[tuple[BudgetScope, str], list[int]] = {}
    spends: dict[tuple[BudgetScope, str], ScopeSpend] = {}
    for spend, pct in verdict.announce:
        by_scope.setdefault((spend.scope, spend.scope_id), []).append(pct)
        spends[(spend.scope, spend.scope_id)] = spend
    for key, pcts in by_scope.items():
        _announce(ctx, (issue, after), run.id, month, spends[key], pcts)
    _announce_ancestors(ctx, (issue, after), run.id, usage.usd, ups)
    if reported.stopped:
        finish_run(ctx, issue, Ended(reported.decision, reported.run, reported.lease))
        assert reported.stopped_by is not None
        scope, scope_id = reported.stopped_by
        if scope is BudgetScope.ISSUE and scope_id == issue.id:
            more = _budget_data(
                str(scope), scope_id, None, after.budget_per_task_usd, counted, run.id
            )
        elif scope is BudgetScope.ISSUE:
            up = next(u for u in ups if u.issue_id == scope_id)
            more = _budget_data(str(scope), scope_id, None, up.cap_usd, up.spent_usd, run.id)
        else:
            stop = verdict.stopped_by  # the monthly cap ``report_cost`` was given
            assert stop is not None
            more = _budget_data(str(scope), scope_id, month, stop.cap_usd, stop.spent_usd, run.id)
        ctx.extra_webhooks.append(
            PendingEvent(BUDGET_EXCEEDED_TYPE, after, issue.status.value, rules.BUDGET_ACTOR, more)
        )
    else:
        runs_db.save_run(ctx.conn, reported.run)
        ctx.commit_decision(issue, reported.decision)
    # Last: the roll-up rows are shared by every report of the company (the total, a team,
    # a label), so their row locks are taken as late in the transaction as possible.
    record_cost(
        ctx.conn,
        CostRecord(
            cost_id=cmd.cost_id,
            company_id=ctx.company_id,
            issue=issue,
            run=run,
            usd_micros=micros,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            model=cmd.model,
            at=ctx.now,
        ),
    )
    ended = reported.run
    answer = CostReported(
        id=cmd.cost_id,
        issue_id=issue.id,
        run_id=run.id,
        cost=RunCost(
            usd=ended.cost_usd,
            input_tokens=ended.input_tokens,
            output_tokens=ended.output_tokens,
        ),
        budget=IssueBudget(
            per_task_usd=after.budget_per_task_usd,
            include_subtasks=after.budget_include_subtasks,
            spent=Spent(usd=after.spent_usd),
        ),
        stop=reported.stopped,
    )
    if reported.stopped_by is not None:
        answer.stop_reason = str(ExitReason.BUDGET_EXCEEDED)
        answer.budget_scope = str(reported.stopped_by[0])
        answer.budget_scope_id = reported.stopped_by[1]
    return wire(answer)
