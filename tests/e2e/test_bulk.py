"""Bulk operations over HTTP, on both stacks."""

from __future__ import annotations

import time

from tests.e2e.client import Api, assert_problem


def test_a_bulk_assign_reports_each_issue_in_the_order_given(api: Api) -> None:
    acme, rival = api.new_company("Acme"), api.new_company("Rival")
    agent = acme.agent()
    issues = [acme.issue(f"bulk {i}")["id"] for i in range(5)]
    done = acme.issue("already cancelled")
    acme.ok("POST", f"/issues/{done['id']}/cancel", {})
    foreign = rival.issue("not yours")["id"]
    ids = [issues[0], "iss_doesnotexist", foreign, done["id"], *issues[1:]]
    response = acme.call(
        "POST", "/issues/bulk", {"ids": ids, "op": "assign", "args": {"agentId": agent["id"]}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done" and body["total"] == 8
    assert body["succeeded"] == 5 and body["failed"] == 3
    results = body["results"]
    assert [r["id"] for r in results] == ids
    assert [r["ok"] for r in results] == [True, False, False, False, True, True, True, True]
    assert results[1]["error"]["code"] == "not_found"
    assert results[2]["error"]["code"] == "not_found"
    assert results[3]["error"]["code"] == "frozen"
    assert all(r["status"] == "assigned" for r in results if r["ok"])
    assert rival.ok("GET", f"/issues/{foreign}")["status"] == "queued"
    assert response.headers["location"].endswith(f"/bulk/{body['id']}")
    assert acme.ok("GET", f"/bulk/{body['id']}") == body


def test_a_bulk_asked_to_answer_at_once_is_followed_at_its_location(api: Api) -> None:
    acme = api.new_company()
    issues = [acme.issue(f"c {i}")["id"] for i in range(3)]
    accepted = acme.call(
        "POST",
        "/issues/bulk",
        {"ids": issues, "op": "cancel", "args": {"reason": "x"}},
        headers={"Prefer": "respond-async"},
    )
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"].split(acme.prefix, 1)[1]
    deadline = time.monotonic() + 20
    job = acme.ok("GET", location)
    while job["status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.1)
        job = acme.ok("GET", location)
    assert job["status"] == "done" and job["succeeded"] == 3
    assert [r["status"] for r in job["results"]] == ["cancelled"] * 3


def test_bad_bulks_are_refused_and_change_nothing(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue("x")["id"]
    for body, loc in [
        ({"ids": [issue, issue], "op": "cancel"}, ["ids"]),
        ({"ids": [], "op": "cancel"}, ["ids"]),
        ({"ids": [issue], "op": "explode"}, ["op"]),
        ({"ids": [issue], "op": "assign", "args": {}}, ["args", "agentId"]),
        ({"ids": [issue], "op": "reassign", "args": {"toAgentId": "a", "toTeamId": "t"}}, ["args"]),
        ({"ids": ["i"] * 1 + [f"iss_{n}" for n in range(10_000)], "op": "cancel"}, ["ids"]),
    ]:
        problem = assert_problem(acme.call("POST", "/issues/bulk", body), 422, "invalid_request")
        assert problem["errors"][0]["loc"] == loc, problem
    assert acme.ok("GET", f"/issues/{issue}")["status"] == "queued"


def test_bulks_of_another_company_are_not_found(api: Api) -> None:
    acme, rival = api.new_company("Acme"), api.new_company("Rival")
    job = acme.ok("POST", "/issues/bulk", {"ids": [acme.issue("x")["id"]], "op": "cancel"})
    assert_problem(rival.call("GET", f"/bulk/{job['id']}"), 404, "not_found")
