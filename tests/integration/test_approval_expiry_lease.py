"""An approval nobody decides stops holding its run's lease when it expires: a silent agent's
run then expires one lease later, like any other."""

from __future__ import annotations

import time

from tests.e2e.client import Api
from tests.integration.test_budgets_and_approvals import (
    MIN_LEASE_S,
    _agent_client,
    _claim,
    _wait_for_exit,
)
from tests.procs import SWEEP_INTERVAL_S, Stack

EXPIRES_IN_S = 2


def test_an_expired_approval_no_longer_holds_a_silent_agents_lease(distributed: Stack) -> None:
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        agent = acme.agent("asker")
        issue = acme.issue("needs sign-off", assignedAgentId=agent["id"])
        with _agent_client(acme, acme.agent_token(agent["id"])) as http:
            claimed = _claim(http, agent["id"], leaseSeconds=MIN_LEASE_S)
            run_path = f"/issues/{issue['id']}/runs/{claimed['run']['id']}"
            body = {
                "leaseToken": claimed["lease"]["token"],
                "action": "deploy",
                "expiresInSeconds": EXPIRES_IN_S,
            }
            asked = http.post(run_path + "/approvals", json=body)
            assert asked.status_code == 201, asked.text
            approval_id = asked.json()["id"]
        # Silent from here on. The approval expires within a sweep of its expiresAt...
        deadline = time.monotonic() + EXPIRES_IN_S + 3 * SWEEP_INTERVAL_S + 2
        while (approval := acme.ok("GET", f"/approvals/{approval_id}"))["status"] == "pending":
            assert time.monotonic() < deadline, approval
            time.sleep(0.1)
        expired_at = time.monotonic()
        assert approval["status"] == "expired"
        # ...the run is still on (the lease runs from the expiry)...
        assert acme.ok("GET", run_path)["status"] == "active"
        # ...and then the lease expires as usual, and the issue goes back to the queue.
        run = _wait_for_exit(acme, run_path, expired_at + MIN_LEASE_S + 3 * SWEEP_INTERVAL_S + 3)
        assert run["exitReason"] == "lease_expired", run
        assert acme.ok("GET", f"/issues/{issue['id']}")["status"] in {"queued", "assigned"}
