"""The verbs: assign, cancel, reassign, and the state machine they walk."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.client import Api, Company, assert_invalid, assert_problem


def _paused(acme: Company, name: str = "sleeper", **fields: Any) -> dict[str, Any]:
    agent = acme.agent(name, **fields)
    return acme.ok("PATCH", f"/agents/{agent['id']}", {"status": "paused"})  # type: ignore[no-any-return]


# Assign


def test_assign_moves_a_queued_issue_to_the_agent(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    issue = acme.issue()
    assigned = acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": agent["id"]})
    assert assigned["status"] == "assigned"
    assert assigned["assignedAgentId"] == agent["id"]
    assert assigned["version"] == 2
    assert acme.ok("GET", f"/issues/{issue['id']}") == assigned


def test_an_agents_assigned_inbox_is_not_capped_by_capacity(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent(capacity=1)
    for _ in range(3):
        issue = acme.issue()
        assigned = acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": agent["id"]})
        assert assigned["status"] == "assigned"


def test_assigning_an_unknown_agent_is_invalid(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    response = acme.call("POST", f"/issues/{issue['id']}/assign", {"agentId": "agt_nope"})
    assert_invalid(response, "agentId")
    assert acme.ok("GET", f"/issues/{issue['id']}") == issue


def test_assign_needs_an_agent_id(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    assert_invalid(acme.call("POST", f"/issues/{issue['id']}/assign", {}), "agentId")


def test_assigning_a_paused_agent_is_refused_as_unavailable(api: Api) -> None:
    acme = api.new_company()
    agent = _paused(acme)
    issue = acme.issue()
    response = acme.call("POST", f"/issues/{issue['id']}/assign", {"agentId": agent["id"]})
    assert_problem(response, 409, "agent_unavailable")
    assert acme.ok("GET", f"/issues/{issue['id']}")["status"] == "queued"


def test_assigning_an_already_assigned_issue_is_an_invalid_transition(api: Api) -> None:
    acme = api.new_company()
    first, second = acme.agent("first"), acme.agent("second")
    issue = acme.issue(assignedAgentId=first["id"])
    response = acme.call("POST", f"/issues/{issue['id']}/assign", {"agentId": second["id"]})
    problem = assert_problem(response, 409, "invalid_transition")
    assert problem["currentStatus"] == "assigned"
    assert acme.ok("GET", f"/issues/{issue['id']}")["assignedAgentId"] == first["id"]


def test_assigning_a_cancelled_issue_is_frozen(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    issue = acme.issue()
    acme.ok("POST", f"/issues/{issue['id']}/cancel", {})
    response = acme.call("POST", f"/issues/{issue['id']}/assign", {"agentId": agent["id"]})
    assert_problem(response, 409, "frozen")


def test_a_verb_on_an_unknown_issue_is_not_found(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    for verb, body in (
        ("assign", {"agentId": agent["id"]}),
        ("cancel", {}),
        ("reassign", {"toAgentId": agent["id"]}),
    ):
        assert_problem(acme.call("POST", f"/issues/iss_nope/{verb}", body), 404, "not_found")


# Cancel


@pytest.mark.parametrize("start", ["queued", "assigned", "waiting-for-paused-agent"])
def test_cancel_ends_any_non_terminal_issue(api: Api, start: str) -> None:
    acme = api.new_company()
    fields: dict[str, Any] = {}
    if start == "assigned":
        fields["assignedAgentId"] = acme.agent()["id"]
    elif start == "waiting-for-paused-agent":
        fields["assignedAgentId"] = _paused(acme)["id"]
    issue = acme.issue(**fields)
    cancelled = acme.ok("POST", f"/issues/{issue['id']}/cancel", {"reason": "no longer needed"})
    assert cancelled["status"] == "cancelled"
    assert cancelled["version"] == issue["version"] + 1
    assert acme.ok("GET", f"/issues/{issue['id']}")["status"] == "cancelled"


def test_cancel_without_a_body_or_reason_is_accepted(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    assert acme.ok("POST", f"/issues/{issue['id']}/cancel")["status"] == "cancelled"


def test_cancelling_twice_is_frozen(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    cancelled = acme.ok("POST", f"/issues/{issue['id']}/cancel", {"reason": "once"})
    problem = assert_problem(acme.call("POST", f"/issues/{issue['id']}/cancel", {}), 409, "frozen")
    assert problem["currentStatus"] == "cancelled"
    assert acme.ok("GET", f"/issues/{issue['id']}") == cancelled


def test_a_cancel_reason_over_2000_chars_or_an_unknown_field_is_invalid(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    path = f"/issues/{issue['id']}/cancel"
    assert_invalid(acme.call("POST", path, {"reason": "r" * 2001}), "reason")
    assert_invalid(acme.call("POST", path, {"why": "x"}), "why")
    assert acme.ok("GET", f"/issues/{issue['id']}")["status"] == "queued"


def test_cancelling_a_dependency_hands_off_the_issues_waiting_on_it(api: Api) -> None:
    acme = api.new_company()
    dependency = acme.issue("dependency")
    waiting = acme.issue("waiting", dependencies=[dependency["id"]])
    acme.ok("POST", f"/issues/{dependency['id']}/cancel", {"reason": "dropped"})
    # docs/api.md does not say whether the same command or a sweep moves it: allow one sweep.
    deadline = time.monotonic() + 6
    while (status := acme.ok("GET", f"/issues/{waiting['id']}")["status"]) != "handoff":
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == "handoff"


# Reassign


def test_reassign_moves_an_assigned_issue_to_another_active_agent(api: Api) -> None:
    acme = api.new_company()
    first, second = acme.agent("first"), acme.agent("second")
    issue = acme.issue(assignedAgentId=first["id"])
    moved = acme.ok(
        "POST", f"/issues/{issue['id']}/reassign", {"toAgentId": second["id"], "reason": "fit"}
    )
    assert moved["status"] == "assigned"
    assert moved["assignedAgentId"] == second["id"]
    assert moved["version"] == issue["version"] + 1


def test_reassign_to_a_paused_agent_waits_queued_with_the_agent_set(api: Api) -> None:
    acme = api.new_company()
    first, sleeper = acme.agent("first"), _paused(acme)
    issue = acme.issue(assignedAgentId=first["id"])
    moved = acme.ok("POST", f"/issues/{issue['id']}/reassign", {"toAgentId": sleeper["id"]})
    assert moved["status"] == "queued"
    assert moved["assignedAgentId"] == sleeper["id"]


def test_reassign_to_a_team_dispatches_to_another_available_team_agent(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    previous = acme.agent("previous", teamIds=[team["id"]], capacity=5)
    other = acme.agent("other", teamIds=[team["id"]], capacity=5)
    issue = acme.issue(assignedAgentId=previous["id"])
    moved = acme.ok("POST", f"/issues/{issue['id']}/reassign", {"toTeamId": team["id"]})
    assert moved["status"] == "assigned"
    assert moved["assignedAgentId"] == other["id"]
    assert moved["assignedTeamId"] == team["id"]


def test_reassign_to_a_team_with_no_other_agent_goes_back_to_its_queue(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    previous = acme.agent("previous", teamIds=[team["id"]], capacity=5)
    issue = acme.issue(assignedAgentId=previous["id"])
    moved = acme.ok("POST", f"/issues/{issue['id']}/reassign", {"toTeamId": team["id"]})
    assert moved["status"] == "queued"
    assert moved["assignedAgentId"] is None
    assert moved["assignedTeamId"] == team["id"]
    listed = acme.ok("GET", "/issues", params={"team": team["id"], "status": "queued"})
    assert [i["id"] for i in listed["data"]] == [issue["id"]]


def test_reassign_to_a_team_whose_agents_are_paused_stays_queued(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    first = acme.agent("first")
    _paused(acme, teamIds=[team["id"]])
    issue = acme.issue(assignedAgentId=first["id"])
    moved = acme.ok("POST", f"/issues/{issue['id']}/reassign", {"toTeamId": team["id"]})
    assert moved["status"] == "queued"
    assert moved["assignedAgentId"] is None


@pytest.mark.parametrize("which", ["both", "neither"])
def test_reassign_needs_exactly_one_of_agent_and_team(api: Api, which: str) -> None:
    acme = api.new_company()
    team, agent = acme.team(), acme.agent()
    issue = acme.issue(assignedAgentId=agent["id"])
    body = (
        {"toAgentId": agent["id"], "toTeamId": team["id"]} if which == "both" else {"reason": "x"}
    )
    assert_invalid(acme.call("POST", f"/issues/{issue['id']}/reassign", body))
    assert acme.ok("GET", f"/issues/{issue['id']}") == issue


def test_reassign_to_an_unknown_agent_or_team_is_invalid(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    issue = acme.issue(assignedAgentId=agent["id"])
    path = f"/issues/{issue['id']}/reassign"
    assert_invalid(acme.call("POST", path, {"toAgentId": "agt_nope"}), "toAgentId")
    assert_invalid(acme.call("POST", path, {"toTeamId": "tm_nope"}), "toTeamId")
    assert acme.ok("GET", f"/issues/{issue['id']}") == issue


@pytest.mark.parametrize("target", ["agent", "team"])
def test_reassigning_a_queued_issue_is_an_invalid_transition(api: Api, target: str) -> None:
    acme = api.new_company()
    team, agent = acme.team(), acme.agent()
    issue = acme.issue()
    body = {"toAgentId": agent["id"]} if target == "agent" else {"toTeamId": team["id"]}
    response = acme.call("POST", f"/issues/{issue['id']}/reassign", body)
    problem = assert_problem(response, 409, "invalid_transition")
    assert problem["currentStatus"] == "queued"
    assert acme.ok("GET", f"/issues/{issue['id']}") == issue


def test_reassigning_a_cancelled_issue_is_frozen(api: Api) -> None:
    acme = api.new_company()
    first, second = acme.agent("first"), acme.agent("second")
    issue = acme.issue(assignedAgentId=first["id"])
    acme.ok("POST", f"/issues/{issue['id']}/cancel", {})
    response = acme.call("POST", f"/issues/{issue['id']}/reassign", {"toAgentId": second["id"]})
    assert_problem(response, 409, "frozen")
