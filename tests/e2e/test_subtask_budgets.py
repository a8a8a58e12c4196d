"""``budget.includeSubtasks`` over HTTP, on both stacks: a parent's cap counts its subtasks'
spend; the report that reaches it stops the reporting subtask's run naming the parent, with a
``budget.exceeded`` event; without it nothing stops; bad input changes nothing; PATCH turns it
on. docs/api.md "Monthly budgets"."""

from __future__ import annotations

from typing import Any

from tests.e2e.client import Api, Company, assert_invalid
from tests.receiver import receiver


def _report(acme: Company, claimed: dict[str, Any], token: str, usd: Any) -> dict[str, Any]:
    response = acme.run_call(claimed, "costs", token, usd=usd)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _two_subtasks_started(
    acme: Company, parent_id: str
) -> tuple[str, tuple[dict[str, Any], dict[str, Any]]]:
    aid, token = acme.agent_with_token(capacity=2)
    acme.issue("first part", parentId=parent_id, assignedAgentId=aid)
    acme.issue("second part", parentId=parent_id, assignedAgentId=aid)
    return token, (acme.claim(aid, token), acme.claim(aid, token))


def test_two_subtasks_reports_reaching_the_parents_cap_stop_the_second_run_naming_the_parent(
    api: Api,
) -> None:
    acme = api.new_company()
    parent = acme.issue("the whole job", budget={"perTaskUsd": 1, "includeSubtasks": True})
    assert parent["budget"] == {"perTaskUsd": 1, "includeSubtasks": True, "spent": {"usd": 0}}
    with receiver() as hook:
        acme.ok("POST", "/webhooks", {"url": hook.url, "events": ["budget.exceeded"]}, status=201)
        token, (first, second) = _two_subtasks_started(acme, parent["id"])
        assert _report(acme, first, token, "0.6")["stop"] is False
        stopped = _report(acme, second, token, "0.6")
        assert stopped["stop"] is True and stopped["stopReason"] == "budget_exceeded"
        assert (stopped["budgetScope"], stopped["budgetScopeId"]) == ("issue", parent["id"])
        got = hook.wait_for(1)
    assert acme.ok("GET", f"/issues/{second['issue']['id']}")["status"] == "handoff"
    event = got[0].payload
    assert event["type"] == "budget.exceeded"
    assert event["data"]["budget"] == {
        "scope": "issue",
        "scopeId": parent["id"],
        "month": None,
        "capUsd": 1,
        "spentUsd": 1.2,
        "runId": second["run"]["id"],
    }
    assert event["data"]["issue"]["id"] == second["issue"]["id"]
    # The parent's cap stays spent: the other subtask's next report stops its run too.
    again = _report(acme, first, token, "0.01")
    assert again["stop"] is True and again["budgetScopeId"] == parent["id"]
    # The parent's own spend is its own: its subtasks' shows in the events, not here.
    assert acme.ok("GET", f"/issues/{parent['id']}")["budget"]["spent"] == {"usd": 0}


def test_without_include_subtasks_the_subtasks_spend_does_not_count_against_the_parent(
    api: Api,
) -> None:
    acme = api.new_company()
    parent = acme.issue("the whole job", budget={"perTaskUsd": 1})
    assert parent["budget"]["includeSubtasks"] is False
    token, (first, second) = _two_subtasks_started(acme, parent["id"])
    assert _report(acme, first, token, "0.6")["stop"] is False
    assert _report(acme, second, token, "0.6")["stop"] is False


def test_a_bad_include_subtasks_is_refused_and_changes_nothing(api: Api) -> None:
    acme = api.new_company()
    before = acme.ok("GET", "/issues")["data"]
    for bad in ("yes", 1, None, "true"):
        refused = acme.call(
            "POST", "/issues", {"title": "job", "budget": {"perTaskUsd": 1, "includeSubtasks": bad}}
        )
        assert_invalid(refused, "budget", "includeSubtasks")
    assert acme.ok("GET", "/issues")["data"] == before
    issue = acme.issue("job", budget={"perTaskUsd": 1})
    for bad in ("yes", 0, None):
        patched = acme.call("PATCH", f"/issues/{issue['id']}", {"budget": {"includeSubtasks": bad}})
        assert_invalid(patched, "budget", "includeSubtasks")
    assert acme.ok("GET", f"/issues/{issue['id']}") == issue


def test_patch_turns_include_subtasks_on_and_counts_what_the_subtasks_spent_before(
    api: Api,
) -> None:
    acme = api.new_company()
    parent = acme.issue("the whole job", budget={"perTaskUsd": 1})
    token, (first, second) = _two_subtasks_started(acme, parent["id"])
    assert _report(acme, first, token, "0.6")["stop"] is False
    patched = acme.ok("PATCH", f"/issues/{parent['id']}", {"budget": {"includeSubtasks": True}})
    assert patched["budget"] == {"perTaskUsd": 1, "includeSubtasks": True, "spent": {"usd": 0}}
    assert patched["version"] == parent["version"] + 1
    stopped = _report(acme, second, token, "0.6")
    assert stopped["stop"] is True
    assert (stopped["budgetScope"], stopped["budgetScopeId"]) == ("issue", parent["id"])
    # Turning it off again: the parent's cap no longer counts them.
    acme.ok("PATCH", f"/issues/{parent['id']}", {"budget": {"includeSubtasks": False}})
    assert _report(acme, first, token, "0.1")["stop"] is False


def test_a_grandparents_cap_counts_its_grandchildrens_spend(api: Api) -> None:
    acme = api.new_company()
    top = acme.issue("top", budget={"perTaskUsd": "0.5", "includeSubtasks": True})
    middle = acme.issue("middle", parentId=top["id"])
    aid, token = acme.agent_with_token()
    acme.issue("leaf", parentId=middle["id"], assignedAgentId=aid)
    stopped = _report(acme, acme.claim(aid, token), token, "0.5")
    assert (stopped["budgetScope"], stopped["budgetScopeId"]) == ("issue", top["id"])
