"""Subtasks and dependencies over HTTP, on both stacks."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.client import Api, Company, assert_problem


def _wait_status(acme: Company, issue_id: str, status: str, timeout_s: float = 15) -> Any:
    deadline = time.monotonic() + timeout_s
    issue = acme.ok("GET", f"/issues/{issue_id}")
    while issue["status"] != status and time.monotonic() < deadline:
        time.sleep(0.05)
        issue = acme.ok("GET", f"/issues/{issue_id}")
    assert issue["status"] == status, issue
    return issue


def test_cancelling_a_parent_leaves_its_children_unless_asked_to_cascade(api: Api) -> None:
    acme = api.new_company()
    parent = acme.issue("epic")
    kept = acme.issue("child kept", parentId=parent["id"])
    cancelled = acme.ok("POST", f"/issues/{parent['id']}/cancel", {})
    assert "cancelledChildren" not in cancelled
    assert acme.ok("GET", f"/issues/{kept['id']}")["status"] == "queued"

    other = acme.issue("epic two")
    children = [acme.issue(f"child {i}", parentId=other["id"])["id"] for i in range(3)]
    grandchild = acme.issue("grandchild", parentId=children[0])
    answer = acme.ok(
        "POST", f"/issues/{other['id']}/cancel", {"cascade": True, "reason": "scrapped"}
    )
    assert answer["status"] == "cancelled"
    assert answer["cancelledChildren"] == children
    for issue_id in [*children, grandchild["id"]]:
        _wait_status(acme, issue_id, "cancelled")


def test_children_are_listed_by_parent_and_top_level_alone(api: Api) -> None:
    acme = api.new_company()
    parent = acme.issue("epic")
    child = acme.issue("child", parentId=parent["id"])
    top = [i["id"] for i in acme.ok("GET", "/issues?parent=null")["data"]]
    assert top == [parent["id"]]
    under = [i["id"] for i in acme.ok("GET", f"/issues?parent={parent['id']}")["data"]]
    assert under == [child["id"]]


def test_a_terminal_or_foreign_parent_is_refused(api: Api) -> None:
    acme, rival = api.new_company("Acme"), api.new_company("Rival")
    gone = acme.issue("gone")
    acme.ok("POST", f"/issues/{gone['id']}/cancel", {})
    for parent in [gone["id"], rival.issue("theirs")["id"], "iss_nope"]:
        problem = assert_problem(
            acme.call("POST", "/issues", {"title": "x", "parentId": parent}), 422, "invalid_request"
        )
        assert problem["errors"][0]["loc"] == ["parentId"]


def test_a_failed_dependency_hands_off_its_dependents_with_the_reason(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    token = acme.agent_token(agent["id"])
    upstream = acme.issue("upstream", assignedAgentId=agent["id"])
    waiting = acme.issue("waiting", dependencies=[upstream["id"]])
    claim = acme.ok("POST", f"/agents/{agent['id']}/claim", {}, token=token)
    run = f"/issues/{upstream['id']}/runs/{claim['run']['id']}"
    acme.ok(
        "POST",
        run + "/fail",
        {"leaseToken": claim["lease"]["token"], "reason": "nope"},
        token=token,
    )
    handed = _wait_status(acme, waiting["id"], "handoff")
    assert handed["blockedBy"] == [upstream["id"]]


def test_dependencies_must_exist_before_the_issue_so_no_cycle_can_form(api: Api) -> None:
    acme = api.new_company()
    problem = assert_problem(
        acme.call("POST", "/issues", {"title": "x", "dependencies": ["iss_future"]}),
        422,
        "invalid_request",
    )
    assert problem["errors"][0]["loc"] == ["dependencies", 0]
    first = acme.issue("first")
    assert_problem(
        acme.call("PATCH", f"/issues/{first['id']}", {"dependencies": [first["id"]]}),
        422,
        "invalid_request",
    )
