"""Monthly budgets over HTTP, on both stacks: set, read, list and remove a cap; what is
refused; a report that reaches a cap stops its run; an exhausted scope's agents get no new
work; the budget webhook events; roll-ups by model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.e2e.client import Api, Company, assert_invalid, assert_problem, walk
from tests.receiver import receiver


def _month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def _put(acme: Company, scope: str, ident: str, usd: Any) -> dict[str, Any]:
    return acme.ok("PUT", f"/budgets/{scope}/{ident}", {"monthlyUsd": usd})  # type: ignore[no-any-return]


def _started(acme: Company, aid: str, token: str, title: str = "work") -> dict[str, Any]:
    acme.issue(title, assignedAgentId=aid)
    return acme.claim(aid, token)


def _report(acme: Company, claimed: dict[str, Any], token: str, usd: Any) -> dict[str, Any]:
    response = acme.run_call(claimed, "costs", token, usd=usd)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_budget_is_set_read_back_with_this_months_spend_listed_changed_and_removed(
    api: Api,
) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token()
    team = acme.team()
    created = _put(acme, "agent", aid, "10.50")
    assert created == {
        "scope": "agent",
        "scopeId": aid,
        "companyId": acme.id,
        "monthlyUsd": 10.5,
        "month": _month(),
        "spent": {"usd": 0},
        "exhausted": False,
        "createdAt": created["createdAt"],
        "updatedAt": created["createdAt"],
    }
    _report(acme, _started(acme, aid, token), token, "1.25")
    got = acme.ok("GET", f"/budgets/agent/{aid}")
    assert got["spent"] == {"usd": 1.25} and got["monthlyUsd"] == 10.5

    _put(acme, "team", team["id"], 100)
    _put(acme, "company", acme.id, 1000)
    listed = walk(acme, "/budgets", limit=2)
    assert [(b["scope"], b["scopeId"]) for b in listed] == [
        ("company", acme.id),
        ("team", team["id"]),
        ("agent", aid),
    ]
    assert listed[0]["spent"] == {"usd": 1.25}  # the company's: every report counts there
    assert [b["scope"] for b in walk(acme, "/budgets", scope="team")] == ["team"]

    changed = _put(acme, "agent", aid, 20)
    assert changed["monthlyUsd"] == 20 and changed["spent"] == {"usd": 1.25}
    assert changed["createdAt"] == created["createdAt"]
    assert acme.call("DELETE", f"/budgets/agent/{aid}").status_code == 204
    assert_problem(acme.call("GET", f"/budgets/agent/{aid}"), 404, "not_found")
    assert_problem(acme.call("DELETE", f"/budgets/agent/{aid}"), 404, "not_found")


def test_a_budget_put_again_with_its_idempotency_key_answers_the_same_and_applies_once(
    api: Api,
) -> None:
    acme = api.new_company()
    aid, _ = acme.agent_with_token()
    headers = {"Idempotency-Key": "cap-1"}
    first = acme.call("PUT", f"/budgets/agent/{aid}", {"monthlyUsd": 5}, headers=headers)
    again = acme.call("PUT", f"/budgets/agent/{aid}", {"monthlyUsd": 5}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other = acme.call("PUT", f"/budgets/agent/{aid}", {"monthlyUsd": 6}, headers=headers)
    assert_problem(other, 422, "idempotency_conflict")


def test_bad_budgets_are_refused_naming_what_is_wrong_and_change_nothing(api: Api) -> None:
    acme = api.new_company()
    aid, _ = acme.agent_with_token()
    _put(acme, "agent", aid, 5)
    before = walk(acme, "/budgets")
    refused = acme.call("PUT", f"/budgets/project/{aid}", {"monthlyUsd": 5})
    errors = assert_invalid(refused, "budget_scope")
    assert "project" in errors[0]["msg"]
    assert_invalid(acme.call("GET", f"/budgets/issue/{aid}"), "budget_scope")
    assert_invalid(acme.call("DELETE", f"/budgets/nope/{aid}"), "budget_scope")
    for usd in (-1, "-1", 1e12, "1000000001", "1.0000001", None, True, "1e2", [], {}):
        assert_invalid(acme.call("PUT", f"/budgets/agent/{aid}", {"monthlyUsd": usd}), "monthlyUsd")
    assert_invalid(acme.call("PUT", f"/budgets/agent/{aid}", {}), "monthlyUsd")
    extra = {"monthlyUsd": 5, "weeklyUsd": 1}
    assert_invalid(acme.call("PUT", f"/budgets/agent/{aid}", extra), "weeklyUsd")
    assert_invalid(acme.call("GET", "/budgets", params={"scope": "issue"}), "scope")
    assert_problem(
        acme.call("PUT", "/budgets/agent/agt_nobody", {"monthlyUsd": 1}), 404, "not_found"
    )
    assert_problem(acme.call("PUT", "/budgets/team/tm_nobody", {"monthlyUsd": 1}), 404, "not_found")
    assert walk(acme, "/budgets") == before


def test_another_companys_agent_team_or_company_is_not_found(api: Api) -> None:
    acme, globex = api.new_company("Acme"), api.new_company("Globex")
    their_agent = globex.agent()["id"]
    their_team = globex.team()["id"]
    _put(globex, "agent", their_agent, 5)
    for scope, ident in (("agent", their_agent), ("team", their_team), ("company", globex.id)):
        path = f"/budgets/{scope}/{ident}"
        assert_problem(acme.call("PUT", path, {"monthlyUsd": 1}), 404, "not_found")
        assert_problem(acme.call("GET", path), 404, "not_found")
        assert_problem(acme.call("DELETE", path), 404, "not_found")
    assert walk(acme, "/budgets") == []
    assert globex.ok("GET", f"/budgets/agent/{their_agent}")["monthlyUsd"] == 5


def test_an_agent_token_may_not_set_or_read_budgets(api: Api) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token()
    for method, path in (
        ("PUT", f"/budgets/agent/{aid}"),
        ("GET", f"/budgets/agent/{aid}"),
        ("GET", "/budgets"),
    ):
        assert_problem(acme.call(method, path, {"monthlyUsd": 1}, token=token), 403, "forbidden")


def test_a_report_reaching_an_agents_monthly_cap_stops_the_run_and_later_claims_are_refused(
    api: Api,
) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token(capacity=2)
    _put(acme, "agent", aid, 1)
    first = _started(acme, aid, token, "first")
    second = _started(acme, aid, token, "second")
    assert _report(acme, first, token, "0.6")["stop"] is False
    stopped = _report(acme, second, token, "0.6")
    assert stopped["stop"] is True
    assert stopped["stopReason"] == "budget_exceeded"
    assert stopped["budgetScope"] == "agent" and stopped["budgetScopeId"] == aid
    issue = acme.ok("GET", f"/issues/{second['issue']['id']}")
    assert issue["status"] == "handoff"
    # The other run goes on until its next report, which the spent cap stops.
    again = _report(acme, first, token, "0.01")
    assert again["stop"] is True and again["budgetScope"] == "agent"
    acme.issue("third", assignedAgentId=aid)
    refused = acme.call("POST", f"/agents/{aid}/claim", {}, token=token)
    body = assert_problem(refused, 409, "budget_exhausted")
    assert body["budgetScope"] == "agent" and body["budgetScopeId"] == aid
    assert body["month"] == _month()
    assert acme.ok("GET", f"/budgets/agent/{aid}")["exhausted"] is True
    # Raising the cap gives the agent work again at once.
    _put(acme, "agent", aid, 5)
    assert acme.claim(aid, token)["issue"]["title"] == "third"


def test_a_team_cap_counts_its_members_spend_and_dispatch_skips_its_exhausted_members(
    api: Api,
) -> None:
    acme = api.new_company()
    team = acme.team()
    member, token = acme.agent_with_token("member", teamIds=[team["id"]], capacity=3)
    _put(acme, "team", team["id"], "0.5")
    claimed = _started(acme, member, token)
    stopped = _report(acme, claimed, token, "0.5")
    assert stopped["stop"] is True
    assert (stopped["budgetScope"], stopped["budgetScopeId"]) == ("team", team["id"])
    assert acme.ok("GET", f"/budgets/team/{team['id']}")["spent"] == {"usd": 0.5}
    queued = acme.issue("team work", assignedTeamId=team["id"])
    assert queued["status"] == "queued" and queued["assignedAgentId"] is None
    body = assert_problem(
        acme.call("POST", f"/agents/{member}/claim", {}, token=token), 409, "budget_exhausted"
    )
    assert body["budgetScope"] == "team"
    # An agent outside the team is not held back by the team's cap.
    outsider, outsider_token = acme.agent_with_token("outsider")
    assert _started(acme, outsider, outsider_token)["run"]["status"] == "active"


def test_a_company_cap_stops_every_agent_and_removing_it_lifts_the_stop(api: Api) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token()
    other, other_token = acme.agent_with_token("other")
    _put(acme, "company", acme.id, 2)
    claimed = _started(acme, aid, token)
    stopped = _report(acme, claimed, token, "2.5")
    assert (stopped["budgetScope"], stopped["budgetScopeId"]) == ("company", acme.id)
    acme.issue("next", assignedAgentId=other)
    refused = acme.call("POST", f"/agents/{other}/claim", {}, token=other_token)
    assert assert_problem(refused, 409, "budget_exhausted")["budgetScope"] == "company"
    assert acme.call("DELETE", f"/budgets/company/{acme.id}").status_code == 204
    assert acme.claim(other, other_token)["issue"]["title"] == "next"


def test_budget_events_are_sent_once_per_threshold_and_once_per_stop(api: Api) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token()
    with receiver() as hook:
        acme.ok(
            "POST",
            "/webhooks",
            {"url": hook.url, "events": ["budget.*"]},
            status=201,
        )
        _put(acme, "agent", aid, 10)
        claimed = _started(acme, aid, token)
        for usd in ("4", "1", "2", "0.5", "3"):  # 40 %, 50 %, 70 %, 75 %, 105 %
            _report(acme, claimed, token, usd)
        got = hook.wait_for(4)
    events = sorted(
        (r.payload for r in got),
        key=lambda p: (p["type"], p["data"]["budget"].get("percent") or 0),
    )
    summary = [(p["type"], p["data"]["budget"].get("percent")) for p in events]
    assert summary == [
        ("budget.exceeded", None),
        ("budget.threshold", 50),
        ("budget.threshold", 80),
        ("budget.threshold", 100),
    ]
    threshold = events[1]["data"]["budget"]
    assert threshold == {
        "scope": "agent",
        "scopeId": aid,
        "month": _month(),
        "capUsd": 10,
        "spentUsd": 5,
        "runId": claimed["run"]["id"],
        "percent": 50,
    }
    exceeded = events[0]["data"]
    assert exceeded["budget"]["spentUsd"] == 10.5 and exceeded["issue"]["status"] == "handoff"
    entries = walk(acme, "/activity", issueId=claimed["issue"]["id"], type="budget.threshold")
    assert len(entries) == 3 and all(e["actor"] == "system:budget" for e in entries)


def test_cost_rollups_group_by_model(api: Api) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token()
    claimed = _started(acme, aid, token)
    for usd, model in (("0.1", "gpt-x"), ("0.2", "claude-y"), ("0.3", "gpt-x"), ("0.4", None)):
        body: dict[str, Any] = {"usd": usd} if model is None else {"usd": usd, "model": model}
        assert acme.run_call(claimed, "costs", token, **body).status_code == 200
    rollup = acme.ok("GET", "/costs", params={"groupBy": "model"})
    assert [(g["key"], g["usd"], g["reports"]) for g in rollup["data"]] == [
        (None, 0.4, 1),
        ("claude-y", 0.2, 1),
        ("gpt-x", 0.4, 2),
    ]
    assert rollup["total"]["usd"] == 1
