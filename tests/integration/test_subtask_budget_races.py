"""A parent's ``includeSubtasks`` cap crossed by concurrent cost reports of two of its
subtasks, on the distributed stack (two commands workers: the subtasks' shards are applied
side by side). The reports judged under the cap never sum past it, each run is stopped once,
naming the parent, and the parent's subtree row holds every report. docs/api.md "Subtasks
under a parent's budget"."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import tables as t
from tests.e2e.client import Api
from tests.integration.test_monthly_budget_races import (
    CAP_USD,
    MICROS,
    REPORT_USD,
    RUNS,
    UNDER_CAP,
    _race,
)
from tests.procs import Stack


def _subtree_spend(engine: Engine, company_id: str, parent_id: str) -> int:
    s = t.budget_spend.c
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(s.spent_micros).where(
                    s.company_id == company_id,
                    s.scope == "issue",
                    s.scope_id == parent_id,
                    s.month == "all",
                )
            ).scalar_one()
        )


def test_a_parents_cap_crossed_by_concurrent_subtask_reports_stops_each_run_once(
    distributed: Stack, engine: Engine
) -> None:
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        parent = acme.issue(
            "the whole job", budget={"perTaskUsd": str(CAP_USD), "includeSubtasks": True}
        )
        aid, token = acme.agent_with_token("spender", capacity=RUNS)
        for n in range(RUNS):
            acme.issue(f"part {n}", parentId=parent["id"], assignedAgentId=aid)
        claims = [acme.claim(aid, token, leaseSeconds=600) for _ in range(RUNS)]

        answers = _race(acme, token, claims)

        stopping = [a for a in answers if a["stop"]]
        assert sorted(a["runId"] for a in stopping) == sorted(c["run"]["id"] for c in claims)
        for a in stopping:
            assert (a["budgetScope"], a["budgetScopeId"]) == ("issue", parent["id"]), a
        assert len([a for a in answers if not a["stop"]]) == UNDER_CAP
        spent = REPORT_USD * len(answers)
        assert spent == REPORT_USD * (UNDER_CAP + RUNS)
        assert _subtree_spend(engine, acme.id, parent["id"]) == int(spent * MICROS)
        for claimed in claims:
            assert acme.ok("GET", f"/issues/{claimed['issue']['id']}")["status"] == "handoff"
