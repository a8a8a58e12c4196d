"""The agent work loop over HTTP: claim, checkpoint, complete, review, on both stacks."""

from __future__ import annotations

from typing import Any

from tests.e2e.client import Api, Company, assert_problem


def _setup(api: Api) -> tuple[Company, dict[str, Any], str]:
    acme = api.new_company()
    agent = acme.agent("worker")
    return acme, agent, acme.agent_token(agent["id"])


def _claim(acme: Company, agent_id: str, token: str, **body: Any) -> Any:
    return acme.call("POST", f"/agents/{agent_id}/claim", body, token=token)


def _run_call(acme: Company, claimed: dict[str, Any], verb: str, token: str, **body: Any) -> Any:
    issue, run = claimed["issue"]["id"], claimed["run"]["id"]
    body.setdefault("leaseToken", claimed["lease"]["token"])
    return acme.call("POST", f"/issues/{issue}/runs/{run}/{verb}", body, token=token)


def test_the_full_loop_from_assignment_to_done_with_one_rework(api: Api) -> None:
    acme, agent, token = _setup(api)
    issue = acme.issue("Write the launch post")
    acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": agent["id"]})

    first = _claim(acme, agent["id"], token)
    assert first.status_code == 200, first.text
    claimed = first.json()
    assert claimed["issue"]["status"] == "running"
    assert claimed["run"]["attempt"] == 1 and claimed["run"]["status"] == "active"
    assert claimed["lease"]["token"].startswith(claimed["run"]["id"])

    acme.ok(
        "POST",
        f"/issues/{issue['id']}/comments",
        {"text": "mind the tone", "author": "user:ada"},
        status=201,
    )
    beat = _run_call(acme, claimed, "checkpoint", token, progress={"pct": 50}, state={"step": 2})
    assert beat.status_code == 200, beat.text
    assert [c["text"] for c in beat.json()["comments"]] == ["mind the tone"]
    assert beat.json()["stop"] is False
    again = _run_call(acme, claimed, "checkpoint", token, progress={"pct": 60})
    assert again.json()["comments"] == []  # only comments new since the last checkpoint

    done = _run_call(acme, claimed, "complete", token, result={"url": "https://example.com/post"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "review"
    rejected = acme.ok(
        "POST",
        f"/issues/{issue['id']}/review",
        {"decision": "reject", "comment": "shorter, please"},
    )
    assert rejected["status"] == "assigned" and rejected["assignedAgentId"] == agent["id"]

    second = _claim(acme, agent["id"], token).json()
    assert second["run"]["attempt"] == 2
    assert second["issue"]["attempts"] == 2
    beat = _run_call(acme, second, "checkpoint", token)
    assert [c["text"] for c in beat.json()["comments"]] == ["shorter, please"]
    assert _run_call(acme, second, "complete", token).json()["status"] == "review"
    accepted = acme.ok("POST", f"/issues/{issue['id']}/review", {"decision": "accept"})
    assert accepted["status"] == "done"

    runs = acme.ok("GET", f"/issues/{issue['id']}/runs")["data"]
    assert [r["attempt"] for r in runs] == [2, 1]
    assert all(r["exitReason"] == "completed" and r["status"] == "ended" for r in runs)
    first_run = acme.ok("GET", f"/issues/{issue['id']}/runs/{claimed['run']['id']}")
    assert first_run["finalCheckpoint"]["progress"] == {"pct": 60}
    assert first_run["finalCheckpoint"]["state"] == {"step": 2}
    (lease,) = first_run["leaseHistory"]
    assert lease["renewals"] == 2 and lease["releaseReason"] == "completed"
    assert first_run["exitDetails"] == {"result": {"url": "https://example.com/post"}}


def test_claim_answers_204_when_there_is_no_work(api: Api) -> None:
    acme, agent, token = _setup(api)
    response = _claim(acme, agent["id"], token)
    assert response.status_code == 204 and response.content == b""


def test_a_cancel_mid_run_makes_the_agents_next_checkpoint_a_stop(api: Api) -> None:
    acme, agent, token = _setup(api)
    issue = acme.issue("Doomed", assignedAgentId=agent["id"])
    claimed = _claim(acme, agent["id"], token).json()
    acme.ok("POST", f"/issues/{issue['id']}/cancel", {"reason": "not needed"})
    stale = _run_call(acme, claimed, "checkpoint", token)
    body = assert_problem(stale, 409, "stale_lease")
    assert body["stop"] is True and body["stopReason"] == "cancelled"
    run = acme.ok("GET", f"/issues/{issue['id']}/runs/{claimed['run']['id']}")
    assert run["exitReason"] == "cancelled" and run["leaseHistory"][0]["releasedAt"]


def test_a_reassign_mid_run_stops_the_old_agent_and_the_new_agent_claims(api: Api) -> None:
    acme, old, old_token = _setup(api)
    new = acme.agent("fresh")
    new_token = acme.agent_token(new["id"])
    issue = acme.issue("Moving", assignedAgentId=old["id"])
    claimed = _claim(acme, old["id"], old_token).json()
    moved = acme.ok("POST", f"/issues/{issue['id']}/reassign", {"toAgentId": new["id"]})
    assert moved["status"] == "assigned" and moved["assignedAgentId"] == new["id"]
    body = assert_problem(_run_call(acme, claimed, "complete", old_token), 409, "stale_lease")
    assert body["stopReason"] == "reassigned"
    taken = _claim(acme, new["id"], new_token).json()
    assert taken["issue"]["id"] == issue["id"] and taken["run"]["attempt"] == 2
    assert taken["lease"]["token"] != claimed["lease"]["token"]
