"""The agent work loop's rules over HTTP: retries, handoff, capacity, fencing, long-poll."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.e2e.client import Api, Company, assert_problem


def _agent(acme: Company, name: str = "worker", **fields: Any) -> tuple[str, str]:
    agent = acme.agent(name, **fields)
    return agent["id"], acme.agent_token(agent["id"])


def _claim(acme: Company, agent_id: str, token: str, **body: Any) -> Any:
    return acme.call("POST", f"/agents/{agent_id}/claim", body, token=token)


def _claimed(acme: Company, agent_id: str, token: str, **body: Any) -> dict[str, Any]:
    response = _claim(acme, agent_id, token, **body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _run(acme: Company, claimed: dict[str, Any], verb: str, token: str, **body: Any) -> Any:
    body.setdefault("leaseToken", claimed["lease"]["token"])
    path = f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}/{verb}"
    return acme.call("POST", path, body, token=token)


def test_a_retryable_failure_gives_the_same_agent_another_attempt_until_none_remain(
    api: Api,
) -> None:
    acme = api.new_company()
    aid, token = _agent(acme)
    issue = acme.issue("flaky", assignedAgentId=aid, maxAttempts=2)
    first = _claimed(acme, aid, token)
    retried = _run(acme, first, "fail", token, reason="timeout", retryable=True)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "assigned" and retried.json()["assignedAgentId"] == aid
    second = _claimed(acme, aid, token)
    assert second["run"]["attempt"] == 2
    final = _run(acme, second, "fail", token, reason="timeout again", retryable=True).json()
    assert final["status"] == "failed" and final["attempts"] == 2
    run = acme.ok("GET", f"/issues/{issue['id']}/runs/{second['run']['id']}")
    assert run["exitReason"] == "failed"
    assert run["exitDetails"]["reason"] == "timeout again"


def test_a_non_retryable_failure_fails_the_issue_at_once(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme)
    acme.issue("hopeless", assignedAgentId=aid)
    claimed = _claimed(acme, aid, token)
    failed = _run(acme, claimed, "fail", token, reason="cannot", details={"why": "x"}).json()
    assert failed["status"] == "failed"


def test_a_handoff_waits_for_a_human_who_can_assign_it_to_another_agent(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme)
    other, other_token = _agent(acme, "senior")
    issue = acme.issue("tricky", assignedAgentId=aid)
    claimed = _claimed(acme, aid, token)
    handed = _run(acme, claimed, "handoff", token, reason="needs a human decision").json()
    assert handed["status"] == "handoff" and handed["currentRunId"] is None
    assigned = acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": other})
    assert assigned["status"] == "assigned"
    assert _claimed(acme, other, other_token)["run"]["attempt"] == 2


def test_an_agent_at_capacity_cannot_claim_more_and_a_paused_agent_cannot_claim(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme, capacity=1)
    acme.issue("one", assignedAgentId=aid)
    acme.issue("two", assignedAgentId=aid)
    _claimed(acme, aid, token)
    assert_problem(_claim(acme, aid, token), 409, "at_capacity")
    acme.ok("PATCH", f"/agents/{aid}", {"status": "paused"})
    assert_problem(_claim(acme, aid, token), 409, "agent_unavailable")


def test_claim_takes_the_highest_priority_first_then_the_oldest(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme, capacity=3)
    acme.issue("old and low", assignedAgentId=aid, labels=["priority:low"])
    acme.issue("old and plain", assignedAgentId=aid)
    urgent = acme.issue("new and critical", assignedAgentId=aid, labels=["priority:critical"])
    order = [_claimed(acme, aid, token)["issue"]["title"] for _ in range(3)]
    # An issue with no priority is medium: above low (issue 17 made priority a field).
    assert order == [urgent["title"], "old and plain", "old and low"]


def test_a_blocked_issue_is_not_claimed_until_its_dependency_is_done(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme, capacity=2)
    upstream = acme.issue("first", assignedAgentId=aid)
    blocked = acme.issue("second", assignedAgentId=aid, dependencies=[upstream["id"]])
    assert blocked["blockedBy"] == [upstream["id"]]
    first = _claimed(acme, aid, token)
    assert first["issue"]["id"] == upstream["id"]
    assert _claim(acme, aid, token).status_code == 204
    _run(acme, first, "complete", token)
    acme.ok("POST", f"/issues/{upstream['id']}/review", {"decision": "accept"})
    assert _claimed(acme, aid, token)["issue"]["id"] == blocked["id"]


def test_a_long_poll_claim_answers_as_soon_as_work_is_assigned(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme)
    issue = acme.issue("arrives later")
    answer: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        answer["response"] = _claim(acme, aid, token, waitSeconds=20)
        answer["after"] = time.monotonic() - started

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(1.0)
    assigned_at = time.monotonic()
    acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": aid})
    waiter.join(30)
    assert answer["response"].status_code == 200, answer["response"].text
    assert answer["response"].json()["issue"]["id"] == issue["id"]
    assert answer["after"] < 1.0 + (time.monotonic() - assigned_at) + 2.0
    assert answer["after"] < 6.0


def test_a_long_poll_with_no_work_answers_204_after_the_wait(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme)
    started = time.monotonic()
    assert _claim(acme, aid, token, waitSeconds=2).status_code == 204
    assert 1.9 <= time.monotonic() - started < 6


def test_only_the_runs_own_agent_may_drive_it(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme)
    _, stranger = _agent(acme, "stranger")
    acme.issue("mine", assignedAgentId=aid)
    claimed = _claimed(acme, aid, token)
    assert_problem(_run(acme, claimed, "checkpoint", stranger), 403, "forbidden")
    assert_problem(_run(acme, claimed, "complete", acme.token), 403, "forbidden")
    assert_problem(_claim(acme, aid, stranger), 403, "forbidden")
    assert _run(acme, claimed, "checkpoint", token).status_code == 200


def test_a_stale_lease_token_changes_nothing(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme)
    issue = acme.issue("fenced", assignedAgentId=aid)
    claimed = _claimed(acme, aid, token)
    forged = claimed["lease"]["token"].rsplit(".", 1)[0] + ".999"
    body = assert_problem(
        _run(acme, claimed, "complete", token, leaseToken=forged), 409, "stale_lease"
    )
    assert "stopReason" not in body
    assert acme.ok("GET", f"/issues/{issue['id']}")["status"] == "running"


def test_the_budget_cannot_change_once_the_issue_runs(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme)
    issue = acme.issue("paid", assignedAgentId=aid, budget={"perTaskUsd": 2})
    _claimed(acme, aid, token)
    body = assert_problem(
        acme.call("PATCH", f"/issues/{issue['id']}", {"budget": {"perTaskUsd": 5}}),
        409,
        "not_editable",
    )
    assert body["currentStatus"] == "running"
    assert acme.ok("PATCH", f"/issues/{issue['id']}", {"title": "still editable"})["version"] > 3


def test_bad_claim_and_run_bodies_are_refused_with_the_field_named(api: Api) -> None:
    acme = api.new_company()
    aid, token = _agent(acme)
    for body, loc in [
        ({"waitSeconds": 31}, ["waitSeconds"]),
        ({"leaseSeconds": 4}, ["leaseSeconds"]),
        ({"leaseSeconds": "60"}, ["leaseSeconds"]),
        ({"wait": 1}, ["wait"]),
    ]:
        problem = assert_problem(_claim(acme, aid, token, **body), 422, "invalid_request")
        assert [e["loc"] for e in problem["errors"]] == [loc]
    acme.issue("x", assignedAgentId=aid)
    claimed = _claimed(acme, aid, token)
    path = f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}"
    assert_problem(acme.call("POST", path + "/checkpoint", {}, token=token), 422, "invalid_request")
    assert_problem(
        acme.call("POST", path + "/fail", {"leaseToken": "x"}, token=token), 422, "invalid_request"
    )


def test_runs_of_another_company_are_not_found(api: Api) -> None:
    acme, rival = api.new_company("Acme"), api.new_company("Rival")
    aid, token = _agent(acme)
    issue = acme.issue("secret", assignedAgentId=aid)
    claimed = _claimed(acme, aid, token)
    for path in [
        f"/issues/{issue['id']}/runs",
        f"/issues/{issue['id']}/runs/{claimed['run']['id']}",
    ]:
        assert_problem(rival.call("GET", path), 404, "not_found")
        response = api.call("GET", f"{rival.prefix}{path}", rival.token)
        assert_problem(response, 404, "not_found")
    assert_problem(rival.call("POST", f"/agents/{aid}/claim", {}), 404, "not_found")
    assert_problem(
        api.call("POST", f"{acme.prefix}/agents/{aid}/claim", rival.token, {}), 404, "not_found"
    )
