"""Creating issues: the fields, the references, the limits, and dispatch to a team at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.client import Api, Company, assert_invalid, assert_problem

ISSUE_FIELDS = {
    "id", "companyId", "title", "description", "status", "parentId", "assignedAgentId",
    "assignedTeamId", "budget", "dueAt", "labels", "dependencies", "currentRunId",
    "createdAt", "updatedAt", "version", "blockedBy", "pendingApprovals", "attempts",
    "maxAttempts", "priority", "notBefore", "retryPolicy",
}  # fmt: skip


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_bare_issue_is_queued_at_version_one_with_defaults(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue("Write the hero copy")
    assert set(issue) == ISSUE_FIELDS
    assert issue["id"].startswith("iss_")
    assert issue["companyId"] == acme.id
    assert issue["title"] == "Write the hero copy"
    assert issue["status"] == "queued"
    assert issue["version"] == 1
    assert issue["description"] is None
    assert issue["parentId"] is None
    assert issue["assignedAgentId"] is None
    assert issue["assignedTeamId"] is None
    assert issue["budget"] == {"perTaskUsd": None, "includeSubtasks": False, "spent": {"usd": 0}}
    assert issue["labels"] == [] and issue["dependencies"] == [] and issue["blockedBy"] == []
    assert issue["pendingApprovals"] == []
    assert issue["currentRunId"] is None
    assert issue["attempts"] == 0
    assert issue["maxAttempts"] == 3
    assert issue["priority"] == "medium"
    assert issue["notBefore"] is None and issue["retryPolicy"] is None
    assert issue["createdAt"] == issue["updatedAt"]


def test_an_issue_is_created_with_every_optional_field(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    agent = acme.agent(teamIds=[team["id"]])
    parent = acme.issue("Campaign")
    dependency = acme.issue("Brand voice doc")
    issue = acme.issue(
        "Hero section",
        description="Short, punchy, align with brand voice doc.",
        parentId=parent["id"],
        assignedTeamId=team["id"],
        assignedAgentId=agent["id"],
        budget={"perTaskUsd": 1.5},
        dueAt="2026-04-12T17:00:00Z",
        labels=["marketing", "priority:medium"],
        dependencies=[dependency["id"]],
        maxAttempts=5,
    )
    assert issue["description"] == "Short, punchy, align with brand voice doc."
    assert issue["parentId"] == parent["id"]
    assert issue["assignedTeamId"] == team["id"]
    assert issue["assignedAgentId"] == agent["id"]
    assert issue["status"] == "assigned"
    assert issue["budget"] == {"perTaskUsd": 1.5, "includeSubtasks": False, "spent": {"usd": 0}}
    assert _when(issue["dueAt"]) == datetime(2026, 4, 12, 17, tzinfo=UTC)
    assert issue["labels"] == ["marketing", "priority:medium"]
    assert issue["dependencies"] == [dependency["id"]]
    assert issue["blockedBy"] == [dependency["id"]]
    assert issue["maxAttempts"] == 5
    assert acme.ok("GET", f"/issues/{issue['id']}") == issue


def test_a_budget_keeps_its_exact_decimal_digits(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue(budget={"perTaskUsd": "0.123456"})
    assert issue["budget"]["perTaskUsd"] == 0.123456
    assert acme.issue(budget={"perTaskUsd": 0})["budget"]["perTaskUsd"] == 0


def test_get_returns_the_version_as_an_etag(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    response = acme.call("GET", f"/issues/{issue['id']}")
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    acme.ok("PATCH", f"/issues/{issue['id']}", {"title": "New title"})
    assert acme.call("GET", f"/issues/{issue['id']}").headers["etag"] == '"2"'


def test_an_unknown_issue_is_not_found(api: Api) -> None:
    acme = api.new_company()
    assert_problem(acme.call("GET", "/issues/iss_nope"), 404, "not_found")


# References must exist in the same company


@pytest.mark.parametrize("field", ["assignedAgentId", "assignedTeamId", "parentId", "dependencies"])
def test_a_reference_to_an_unknown_resource_is_invalid(api: Api, field: str) -> None:
    acme = api.new_company()
    value: Any = ["iss_nope"] if field == "dependencies" else "xyz_nope"
    assert_invalid(acme.call("POST", "/issues", {"title": "t", field: value}), field)
    assert acme.ok("GET", "/issues")["data"] == []


def _foreign(other: Company, field: str) -> Any:
    if field == "assignedAgentId":
        return other.agent()["id"]
    if field == "assignedTeamId":
        return other.team()["id"]
    if field == "parentId":
        return other.issue()["id"]
    return [other.issue()["id"]]


@pytest.mark.parametrize("field", ["assignedAgentId", "assignedTeamId", "parentId", "dependencies"])
def test_a_reference_to_another_companys_resource_is_invalid(api: Api, field: str) -> None:
    acme, globex = api.new_company("Acme"), api.new_company("Globex")
    response = acme.call("POST", "/issues", {"title": "t", field: _foreign(globex, field)})
    assert_invalid(response, field)
    assert acme.ok("GET", "/issues")["data"] == []


def test_listing_a_dependency_twice_is_invalid(api: Api) -> None:
    acme = api.new_company()
    dep = acme.issue()
    response = acme.call("POST", "/issues", {"title": "t", "dependencies": [dep["id"], dep["id"]]})
    assert_invalid(response, "dependencies")


# Limits


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 501}, "title"),
        ({}, "title"),
        ({"title": "t", "labels": [f"l{i}" for i in range(51)]}, "labels"),
        ({"title": "t", "labels": ["x" * 101]}, "labels"),
        ({"title": "t", "labels": [""]}, "labels"),
        ({"title": "t", "description": "d" * 100_001}, "description"),
        ({"title": "t", "budget": {"perTaskUsd": -0.01}}, "budget"),
        ({"title": "t", "budget": {"perTaskUsd": 1, "currency": "eur"}}, "budget"),
        ({"title": "t", "maxAttempts": 0}, "maxAttempts"),
        ({"title": "t", "dueAt": "tomorrow"}, "dueAt"),
        ({"title": "t", "status": "running"}, "status"),
        ({"title": "t", "urgency": "high"}, "urgency"),
    ],
    ids=[
        "empty-title", "long-title", "no-title", "51-labels", "long-label", "empty-label",
        "long-description", "negative-budget", "unknown-budget-field", "zero-attempts",
        "bad-due-at", "status", "unknown-field",
    ],
)  # fmt: skip
def test_a_create_outside_the_limits_is_invalid(api: Api, body: dict[str, Any], field: str) -> None:
    acme = api.new_company()
    assert_invalid(acme.call("POST", "/issues", body), field)
    assert acme.ok("GET", "/issues")["data"] == []


def test_the_limits_themselves_are_accepted(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue(
        "x" * 500,
        description="d" * 100_000,
        labels=[f"{i:03d}" + "x" * 97 for i in range(50)],
    )
    assert len(issue["title"]) == 500
    assert len(issue["description"]) == 100_000
    assert len(issue["labels"]) == 50


# Dispatch at create


def test_a_team_issue_goes_at_once_to_the_teams_active_agent(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    agent = acme.agent(teamIds=[team["id"]])
    issue = acme.issue(assignedTeamId=team["id"])
    assert issue["status"] == "assigned"
    assert issue["assignedAgentId"] == agent["id"]
    assert issue["assignedTeamId"] == team["id"]
    assert issue["version"] == 2


def test_the_least_loaded_team_agent_gets_the_issue(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    busy = acme.agent("busy", teamIds=[team["id"]], capacity=5)
    free = acme.agent("free", teamIds=[team["id"]], capacity=5)
    for _ in range(2):
        acme.issue(assignedAgentId=busy["id"])
    acme.issue(assignedAgentId=free["id"])
    issue = acme.issue(assignedTeamId=team["id"])
    assert issue["assignedAgentId"] == free["id"]
    # 2 and 2 now: the tie goes to the agent idle the longest (given work least recently)
    second = acme.issue(assignedTeamId=team["id"])
    assert second["assignedAgentId"] == busy["id"]
    third = acme.issue(assignedTeamId=team["id"])
    assert third["assignedAgentId"] == free["id"]


def test_a_team_issue_waits_queued_when_the_only_agent_is_paused(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    agent = acme.agent(teamIds=[team["id"]])
    acme.ok("PATCH", f"/agents/{agent['id']}", {"status": "paused"})
    issue = acme.issue(assignedTeamId=team["id"])
    assert issue["status"] == "queued"
    assert issue["assignedAgentId"] is None
    assert issue["assignedTeamId"] == team["id"]


def test_a_team_issue_waits_queued_when_every_agent_is_at_capacity(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    agent = acme.agent(teamIds=[team["id"]], capacity=1)
    first = acme.issue(assignedTeamId=team["id"])
    assert first["assignedAgentId"] == agent["id"]
    second = acme.issue(assignedTeamId=team["id"])
    assert second["status"] == "queued"
    assert second["assignedAgentId"] is None


def test_a_team_without_agents_leaves_the_issue_queued(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    issue = acme.issue(assignedTeamId=team["id"])
    assert issue["status"] == "queued"
    assert issue["assignedAgentId"] is None


def test_an_issue_for_an_explicit_paused_agent_waits_queued_with_the_agent_set(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    acme.ok("PATCH", f"/agents/{agent['id']}", {"status": "paused"})
    issue = acme.issue(assignedAgentId=agent["id"])
    assert issue["status"] == "queued"
    assert issue["assignedAgentId"] == agent["id"]


def test_an_issue_for_an_explicit_active_agent_is_assigned_to_it(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    issue = acme.issue(assignedAgentId=agent["id"])
    assert issue["status"] == "assigned"
    assert issue["assignedAgentId"] == agent["id"]
    assert issue["version"] == 2


def test_blocked_by_lists_only_the_dependencies_not_done(api: Api) -> None:
    acme = api.new_company()
    first, second = acme.issue("first"), acme.issue("second")
    issue = acme.issue(dependencies=[first["id"], second["id"]])
    assert sorted(issue["blockedBy"]) == sorted([first["id"], second["id"]])
    acme.ok("POST", f"/issues/{first['id']}/cancel", {"reason": "dropped"})
    fetched = acme.ok("GET", f"/issues/{issue['id']}")
    assert sorted(fetched["blockedBy"]) == sorted([first["id"], second["id"]])  # cancelled ≠ done


def test_a_blocked_team_issue_is_not_dispatched(api: Api) -> None:
    acme = api.new_company()
    team = acme.team()
    acme.agent(teamIds=[team["id"]])
    dependency = acme.issue()
    issue = acme.issue(assignedTeamId=team["id"], dependencies=[dependency["id"]])
    assert issue["status"] == "queued"
    assert issue["assignedAgentId"] is None
    assert issue["blockedBy"] == [dependency["id"]]


def test_priority_is_a_field_set_at_create_or_by_a_label_and_changed_by_patch(api: Api) -> None:
    acme = api.new_company()
    assert acme.issue("asked", priority="high")["priority"] == "high"
    labelled = acme.issue("labelled", labels=["priority:critical"])
    assert labelled["priority"] == "critical"
    lowered = acme.ok("PATCH", f"/issues/{labelled['id']}", {"priority": "low"})
    assert lowered["priority"] == "low" and lowered["version"] == labelled["version"] + 1
    relabelled = acme.ok("PATCH", f"/issues/{labelled['id']}", {"labels": ["priority:high"]})
    assert relabelled["priority"] == "high"
    for bad in ({"priority": "urgent"}, {"priority": 1}):
        assert_invalid(acme.call("PATCH", f"/issues/{labelled['id']}", bad), "priority")
    errors = assert_invalid(acme.call("PATCH", f"/issues/{labelled['id']}", {"priority": None}))
    assert "priority may not be null" in errors[0]["msg"]
    assert_invalid(acme.call("POST", "/issues", {"title": "t", "priority": "urgent"}), "priority")


def test_a_claim_takes_the_higher_priority_first_then_the_oldest(api: Api) -> None:
    acme = api.new_company()
    agent, token = acme.agent_with_token(capacity=3)
    low = acme.issue("low", assignedAgentId=agent, priority="low")
    medium = acme.issue("medium by default", assignedAgentId=agent)
    critical = acme.issue("critical", assignedAgentId=agent, priority="critical")
    order = [acme.claim(agent, token)["issue"]["id"] for _ in range(3)]
    assert order == [critical["id"], medium["id"], low["id"]]
