"""The shortest path through the API works on both stacks."""

from __future__ import annotations

from tests.e2e.client import Api


def test_a_new_company_can_create_assign_and_cancel_an_issue(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    issue = acme.issue(labels=["priority:high"])
    assert issue["status"] == "queued"
    assigned = acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": agent["id"]})
    assert assigned["status"] == "assigned"
    assert assigned["version"] == 2
    cancelled = acme.ok("POST", f"/issues/{issue['id']}/cancel", {"reason": "no longer needed"})
    assert cancelled["status"] == "cancelled"
