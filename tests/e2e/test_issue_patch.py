"""PATCH on an issue: the five editable fields, nothing else, versions and If-Match."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.client import Api, assert_invalid, assert_problem


def test_title_description_labels_and_due_date_are_patched(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue("Old", description="old", labels=["a"])
    patched = acme.ok(
        "PATCH",
        f"/issues/{issue['id']}",
        {
            "title": "New",
            "description": "new",
            "labels": ["b", "c"],
            "dueAt": "2026-05-01T09:30:00+02:00",
        },
    )
    assert patched["title"] == "New"
    assert patched["description"] == "new"
    assert patched["labels"] == ["b", "c"]
    due = datetime.fromisoformat(patched["dueAt"].replace("Z", "+00:00"))
    assert due == datetime(2026, 5, 1, 7, 30, tzinfo=UTC)
    assert patched["dueAt"].endswith("Z")
    assert patched["status"] == "queued"
    assert patched["updatedAt"] >= issue["updatedAt"]
    assert acme.ok("GET", f"/issues/{issue['id']}") == patched


def test_description_and_due_date_are_cleared_with_null(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue(description="d", dueAt="2026-05-01T00:00:00Z")
    patched = acme.ok("PATCH", f"/issues/{issue['id']}", {"description": None, "dueAt": None})
    assert patched["description"] is None
    assert patched["dueAt"] is None


def test_the_budget_is_patched_while_queued_or_assigned(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    issue = acme.issue()
    path = f"/issues/{issue['id']}"
    assert acme.ok("PATCH", path, {"budget": {"perTaskUsd": 2.25}})["budget"]["perTaskUsd"] == 2.25
    acme.ok("POST", f"{path}/assign", {"agentId": agent["id"]})
    patched = acme.ok("PATCH", path, {"budget": {"perTaskUsd": "3.5"}})
    assert patched["budget"] == {"perTaskUsd": 3.5, "includeSubtasks": False, "spent": {"usd": 0}}
    cleared = acme.ok("PATCH", path, {"budget": {"perTaskUsd": None}})
    assert cleared["budget"]["perTaskUsd"] is None


def test_a_patch_that_changes_nothing_leaves_the_version_alone(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue("Same", labels=["x"])
    path = f"/issues/{issue['id']}"
    same = acme.ok("PATCH", path, {"title": "Same", "labels": ["x"]})
    assert same["version"] == 1
    assert acme.ok("PATCH", path, {})["version"] == 1


def test_each_real_change_adds_exactly_one_to_the_version(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    path = f"/issues/{issue['id']}"
    assert acme.ok("PATCH", path, {"title": "two"})["version"] == 2
    assert acme.ok("PATCH", path, {"title": "three", "labels": ["l"]})["version"] == 3
    assert acme.ok("PATCH", path, {"budget": {"perTaskUsd": 1}})["version"] == 4
    assert acme.call("GET", path).headers["etag"] == '"4"'


@pytest.mark.parametrize(
    "body",
    [
        {"status": "done"},
        {"assignedAgentId": "agt_x"},
        {"assignedTeamId": "tm_x"},
        {"parentId": "iss_x"},
        {"dependencies": []},
        {"maxAttempts": 5},
        {"version": 9},
        {"id": "iss_x"},
        {"budget": {"spent": {"usd": 0}}},
        {"title": "ok", "status": "done"},
    ],
    ids=",".join,
)
def test_patching_any_other_field_is_invalid_and_changes_nothing(
    api: Api, body: dict[str, Any]
) -> None:
    acme = api.new_company()
    issue = acme.issue("Original")
    assert_invalid(acme.call("PATCH", f"/issues/{issue['id']}", body))
    assert acme.ok("GET", f"/issues/{issue['id']}") == issue


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"labels": ["x" * 101]}, "labels"),
        ({"labels": [str(i) for i in range(51)]}, "labels"),
        ({"description": "d" * 100_001}, "description"),
        ({"budget": {"perTaskUsd": -1}}, "budget"),
        ({"dueAt": "next week"}, "dueAt"),
    ],
    ids=["empty-title", "null-title", "long-title", "long-label", "51-labels",
         "long-description", "negative-budget", "bad-due-at"],
)  # fmt: skip
def test_patch_values_outside_the_limits_are_invalid(
    api: Api, body: dict[str, Any], field: str
) -> None:
    acme = api.new_company()
    issue = acme.issue()
    response = acme.call("PATCH", f"/issues/{issue['id']}", body)
    errors = assert_invalid(response)
    assert any(field in e["loc"] or field in e["msg"] for e in errors), errors
    assert acme.ok("GET", f"/issues/{issue['id']}")["version"] == 1


def test_a_cancelled_issue_is_frozen_to_every_patch(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue("Title")
    path = f"/issues/{issue['id']}"
    cancelled = acme.ok("POST", f"{path}/cancel", {"reason": "dropped"})
    for body in ({"title": "new"}, {"budget": {"perTaskUsd": 5}}, {"labels": []}):
        problem = assert_problem(acme.call("PATCH", path, body), 409, "frozen")
        assert problem["currentStatus"] == "cancelled"
    assert acme.ok("GET", path) == cancelled


def test_patching_an_unknown_issue_is_not_found(api: Api) -> None:
    acme = api.new_company()
    assert_problem(acme.call("PATCH", "/issues/iss_nope", {"title": "x"}), 404, "not_found")


# Optimistic concurrency


def test_if_match_with_the_current_version_applies_the_patch(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    path = f"/issues/{issue['id']}"
    etag = acme.call("GET", path).headers["etag"]
    patched = acme.ok("PATCH", path, {"title": "mine"}, headers={"If-Match": etag})
    assert patched["version"] == 2
    again = acme.ok("PATCH", path, {"title": "mine again"}, headers={"If-Match": '"2"'})
    assert again["version"] == 3


def test_if_match_with_an_old_version_is_a_failed_precondition(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue("Original")
    path = f"/issues/{issue['id']}"
    acme.ok("PATCH", path, {"title": "someone else"})
    response = acme.call("PATCH", path, {"title": "mine"}, headers={"If-Match": '"1"'})
    assert_problem(response, 412, "precondition_failed")
    current = acme.ok("GET", path)
    assert current["title"] == "someone else"
    assert current["version"] == 2


def test_the_verbs_honour_if_match_too(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    issue = acme.issue()
    path = f"/issues/{issue['id']}"
    acme.ok("PATCH", path, {"title": "v2"})
    stale = {"If-Match": '"1"'}
    assign = acme.call("POST", f"{path}/assign", {"agentId": agent["id"]}, headers=stale)
    assert_problem(assign, 412, "precondition_failed")
    assert_problem(
        acme.call("POST", f"{path}/cancel", {}, headers=stale), 412, "precondition_failed"
    )
    assert acme.ok("GET", path)["status"] == "queued"
    assigned = acme.ok(
        "POST", f"{path}/assign", {"agentId": agent["id"]}, headers={"If-Match": '"2"'}
    )
    assert assigned["status"] == "assigned"


def test_a_malformed_if_match_is_invalid(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    response = acme.call(
        "PATCH", f"/issues/{issue['id']}", {"title": "x"}, headers={"If-Match": "abc"}
    )
    assert_invalid(response, "If-Match")
