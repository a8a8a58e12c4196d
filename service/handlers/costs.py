"""Command handler of cost reports: the run's cost, the issue's spend, the budget cap."""

from __future__ import annotations

from typing import Any

from domain import costs as rules
from domain.commands import ReportCost
from domain.money import to_micros
from domain.runs import Ended, ExitReason
from service.answers.common import wire
from service.answers.issues import IssueBudget, Spent
from service.answers.oversight import CostReported
from service.answers.runs import RunCost
from service.costs import CostRecord, record_cost
from service.db import runs as runs_db
from service.handlers.context import Context
from service.handlers.registry import handles
from service.handlers.runs import agent_call, finish_run

__all__ = ["report_cost"]


@handles(ReportCost)
def report_cost(cmd: ReportCost, ctx: Context) -> Any:
    issue, _, run, lease = agent_call(
        ctx, cmd.issue_id, cmd.run_id, cmd.lease_token, cmd.acting_agent_id
    )
    usage = rules.Usage(cmd.usd, cmd.input_tokens, cmd.output_tokens)
    reported = rules.report_cost(issue, run, lease, usage, now=ctx.now)
    ctx.record(reported.notes)
    if reported.stopped:
        finish_run(ctx, issue, Ended(reported.decision, reported.run, reported.lease))
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
            usd_micros=to_micros(usage.usd),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            model=cmd.model,
            at=ctx.now,
        ),
    )
    after, ended = reported.decision.issue, reported.run
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
            per_task_usd=after.budget_per_task_usd, spent=Spent(usd=after.spent_usd)
        ),
        stop=reported.stopped,
    )
    if reported.stopped:
        answer.stop_reason = str(ExitReason.BUDGET_EXCEEDED)
    return wire(answer)
