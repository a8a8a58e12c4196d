"""A monthly cap crossed by concurrent cost reports on two issues of one agent, on the
distributed stack (two commands workers: the two issues' shards are applied side by side).

The agent's spend row is added to under its row lock in each report's transaction, so the
reports take turns on it: the cap stops exactly the runs that report once it is reached,
each by one report, and the reports before it never sum past the cap. docs/api.md
"Monthly budgets"."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import tables as t
from tests.e2e.client import Api, Company, assert_problem
from tests.procs import Stack

REPORT_USD = Decimal("0.15")
CAP_USD = Decimal("1.00")
#: Reports under the cap before one reaches it: 6 x 0.15 = 0.90 < 1.00 <= 7 x 0.15.
UNDER_CAP = 6
RUNS = 2
THREADS_PER_RUN = 5
REPORTS_PER_THREAD = 3
MICROS = Decimal(1_000_000)


def _usd(value: Any) -> Decimal:
    return Decimal(str(value))


def _race(acme: Company, token: str, claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every thread released at once, each sending its reports on its run: the 200 answers
    (each with the run it was for) in no particular order."""
    answers: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(RUNS * THREADS_PER_RUN)
    lock = threading.Lock()

    def report(claimed: dict[str, Any]) -> None:
        path = f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}/costs"
        body = {"leaseToken": claimed["lease"]["token"], "usd": str(REPORT_USD)}
        try:
            with httpx.Client(
                base_url=acme.api.base_url + acme.prefix,
                timeout=60,
                headers={"Authorization": f"Bearer {token}"},
            ) as http:
                start.wait(30)
                for _ in range(REPORTS_PER_THREAD):
                    response = http.post(path, json=body)
                    with lock:
                        if response.status_code == 200:
                            answers.append(response.json())
                        else:
                            refused.append(assert_problem(response, 409, "stale_lease"))
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=report, args=(claimed,))
        for claimed in claims
        for _ in range(THREADS_PER_RUN)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    assert len(answers) + len(refused) == RUNS * THREADS_PER_RUN * REPORTS_PER_THREAD
    for problem in refused:  # a report after its run was stopped: told why
        assert problem["stop"] is True and problem["stopReason"] == "budget_exceeded", problem
    return answers


def _month_spend(engine: Engine, company_id: str, scope: str, ident: str) -> int:
    s = t.budget_spend.c
    month = datetime.now(UTC).strftime("%Y-%m")
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(s.spent_micros).where(
                    s.company_id == company_id,
                    s.scope == scope,
                    s.scope_id == ident,
                    s.month == month,
                )
            ).scalar_one()
        )


def test_a_cap_crossed_by_concurrent_reports_on_two_issues_stops_each_run_once(
    distributed: Stack, engine: Engine
) -> None:
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        aid, token = acme.agent_with_token("spender", capacity=RUNS)
        acme.ok("PUT", f"/budgets/agent/{aid}", {"monthlyUsd": str(CAP_USD)})
        for n in range(RUNS):
            acme.issue(f"issue {n}", assignedAgentId=aid)
        claims = [acme.claim(aid, token, leaseSeconds=600) for _ in range(RUNS)]
        assert len({c["issue"]["id"] for c in claims}) == RUNS

        answers = _race(acme, token, claims)

        stopping = [a for a in answers if a["stop"]]
        going_on = [a for a in answers if not a["stop"]]
        # Exactly the runs that reported after the cap was reached stop, each once: here
        # both, since each keeps reporting until it is told to stop.
        assert sorted(a["runId"] for a in stopping) == sorted(c["run"]["id"] for c in claims)
        for a in stopping:
            assert a["stopReason"] == "budget_exceeded", a
            assert (a["budgetScope"], a["budgetScopeId"]) == ("agent", aid), a
        # The reports judged under the cap never sum past it: the first report to reach it
        # stopped its run, and every later one stopped its own.
        assert len(going_on) == UNDER_CAP, going_on
        spent = REPORT_USD * len(answers)
        assert spent - CAP_USD < REPORT_USD * RUNS  # overrun: at most one report per run
        assert spent == REPORT_USD * (UNDER_CAP + RUNS)

        # The database agrees: the agent's and the company's month, the events, the runs.
        assert _month_spend(engine, acme.id, "agent", aid) == int(spent * MICROS)
        assert _month_spend(engine, acme.id, "company", acme.id) == int(spent * MICROS)
        run_ids = [c["run"]["id"] for c in claims]
        with engine.connect() as conn:
            events = conn.execute(
                sa.select(sa.func.count()).where(t.cost_events.c.run_id.in_(run_ids))
            ).scalar_one()
            exits = conn.execute(
                sa.select(t.runs.c.exit_reason).where(t.runs.c.id.in_(run_ids))
            ).scalars()
            assert events == len(answers)
            assert set(exits) == {"budget_exceeded"}
        for claimed in claims:
            issue = acme.ok("GET", f"/issues/{claimed['issue']['id']}")
            assert issue["status"] == "handoff"
        budget = acme.ok("GET", f"/budgets/agent/{aid}")
        assert _usd(budget["spent"]["usd"]) == spent and budget["exhausted"] is True
        acme.issue("one more", assignedAgentId=aid)
        refused = acme.call("POST", f"/agents/{aid}/claim", {}, token=token)
        assert assert_problem(refused, 409, "budget_exhausted")["budgetScope"] == "agent"
