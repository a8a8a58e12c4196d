"""The SDK's agent loop against both stacks: claim, heartbeat, stops, the end of the block,
``serve``. Leases are the API's shortest (10 s: a heartbeat every 3.3 s); the stacks sweep
every second, so a lease the heartbeat did not keep would be expired 11 s in."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from agentq_client import Client, RunStopped, Work

from tests.e2e.client import Api, Company
from tests.procs import Stack

#: The API's shortest lease, in seconds.
LEASE_SECONDS = 5
#: A step three leases long (the issue's 5 s lease through a 15 s handler), in seconds.
STEP_SECONDS = 3 * LEASE_SECONDS
HEARTBEAT_SECONDS = LEASE_SECONDS / 3
#: What a test allows beyond the behaviour's own time (a shared 2-core machine), in s.
SLACK_SECONDS = 2.0


@pytest.fixture(scope="module")
def acme(stack: Stack) -> Iterator[Company]:
    """One company per stack for the module: each test makes agents of its own."""
    with Api(stack.base_url, stack.admin_token) as api:
        yield api.new_company("SDK loop")


@pytest.fixture
def admin(stack: Stack, acme: Company) -> Iterator[Client]:
    with Client(stack.base_url, acme.token) as client:
        yield client


def _agent(stack: Stack, acme: Company, **fields: Any) -> tuple[str, Client]:
    """A new agent, and a client with its agent token."""
    agent_id, token = acme.agent_with_token("sdk", **fields)
    return agent_id, Client(stack.base_url, token)


def test_the_full_loop_claim_checkpoint_inbox_cost_approval_complete(
    stack: Stack, acme: Company, admin: Client
) -> None:
    agent_id, client = _agent(stack, acme)
    with client:
        agent = client.agent()
        assert agent.agent_id == agent_id  # the agent token's own, from GET /v1/me
        issue = admin.issues_create({"title": "Draft the post", "assigned_agent_id": agent_id})
        with agent.claim(wait_seconds=5, lease_seconds=LEASE_SECONDS) as work:
            assert work is not None and work.issue.id == issue.id
            admin.comments_create(issue.id, {"text": "Under 300 words.", "author": "user:al"})
            answer = work.checkpoint(progress={"pct": 40}, state={"step": 2})
            assert answer.stop is False
            comment = work.inbox.get_nowait()
            assert getattr(comment, "text", None) == "Under 300 words."
            reported = work.report_cost("0.0042", input_tokens=1200, output_tokens=300, model="m")
            assert reported.cost.usd is not None and str(reported.cost.usd) == "0.0042"
            asked = work.request_approval("publish", {"where": "blog"})
            admin.approvals_approve(asked.id, {"comment": "go"})
            decision = work.wait_for_decision(timeout=10, poll_seconds=0.2)
            assert (decision.id, decision.status) == (asked.id, "approved")
            assert work.inbox.get_nowait() == decision
            work.comment("Done: 280 words.")
            done = work.complete({"words": 280})
            assert done.status == "review"
        with pytest.raises(RunStopped) as after:
            work.checkpoint()
        assert after.value.reason == "completed"
        run = admin.runs_get(issue.id, work.run.id)
        assert run.exit_reason == "completed" and run.final_checkpoint is not None
        assert admin.issues_review(issue.id, {"decision": "accept"}).status == "done"
        with agent.claim(wait_seconds=0) as nothing:
            assert nothing is None


def test_the_heartbeat_alone_keeps_a_lease_through_a_step_longer_than_it(
    stack: Stack, acme: Company, admin: Client
) -> None:
    agent_id, client = _agent(stack, acme)
    with client:
        issue = admin.issues_create({"title": "Slow step", "assigned_agent_id": agent_id})
        with client.agent().claim(wait_seconds=5, lease_seconds=LEASE_SECONDS) as work:
            assert work is not None
            # No call of its own for three leases: only the heartbeat keeps it.
            time.sleep(STEP_SECONDS)
            assert work.stopped is None
            work.complete({"ok": True})
        run = admin.runs_get(issue.id, work.run.id)
        assert run.exit_reason == "completed"
        # A checkpoint every lease / 3 (1.67 s): about 9 in 15 s, 6 even when the box is slow.
        assert run.lease_history[0].renewals >= 6


def test_a_cancel_and_a_reassign_mid_run_stop_their_work_within_one_heartbeat(
    stack: Stack, acme: Company, admin: Client
) -> None:
    # Both at once (two runs of one agent), so the test waits one heartbeat, not two.
    agent_id, client = _agent(stack, acme, capacity=2)
    other = admin.agents_create({"name": "other"})
    with client:
        agent = client.agent()
        works: dict[str, Work] = {}
        for how in ("cancelled", "reassigned"):
            admin.issues_create({"title": f"To be {how}", "assigned_agent_id": agent_id})
            work = agent.claim_next(wait_seconds=5, lease_seconds=LEASE_SECONDS)
            assert work is not None
            work.start_heartbeat()
            works[how] = work
        started = time.monotonic()
        admin.issues_cancel(works["cancelled"].issue.id, {"reason": "not needed"})
        admin.issues_reassign(works["reassigned"].issue.id, {"to_agent_id": other.id})
        for how, work in works.items():
            left = HEARTBEAT_SECONDS + SLACK_SECONDS - (time.monotonic() - started)
            assert work.stop_event.wait(max(left, 0)), how
            assert work.stopped == how
            with pytest.raises(RunStopped) as stopped:
                work.report_cost(0.01)
            assert stopped.value.reason == how
            assert work.close(stopped.value)  # leaving by its own stop is no error
            assert admin.runs_get(work.issue.id, work.run.id).exit_reason == how


def test_a_cost_report_past_the_budget_stops_the_work(
    stack: Stack, acme: Company, admin: Client
) -> None:
    agent_id, client = _agent(stack, acme)
    with client:
        issue = admin.issues_create(
            {"title": "Pricey", "assigned_agent_id": agent_id, "budget": {"per_task_usd": "0.05"}}
        )
        with client.agent().claim(wait_seconds=5, lease_seconds=LEASE_SECONDS) as work:
            assert work is not None
            assert work.report_cost(0.01).stop is False
            over = work.report_cost(0.06)
            assert (over.stop, over.stop_reason) == (True, "budget_exceeded")
            assert work.stopped == "budget_exceeded" and work.stop_event.is_set()
            with pytest.raises(RunStopped) as stopped:
                work.checkpoint(progress={"pct": 90})
            assert stopped.value.reason == "budget_exceeded"
        assert admin.issues_get(issue.id).status == "handoff"


def test_an_exception_in_the_block_fails_the_run_as_retryable_and_requeues_the_issue(
    stack: Stack, acme: Company, admin: Client
) -> None:
    agent_id, client = _agent(stack, acme)
    with client:
        agent = client.agent()
        issue = admin.issues_create({"title": "Buggy", "assigned_agent_id": agent_id})
        with pytest.raises(ZeroDivisionError), agent.claim(wait_seconds=5) as work:
            assert work is not None
            _ = 1 / 0
        run = admin.runs_get(issue.id, work.run.id)
        assert run.exit_reason == "failed"
        assert run.exit_details is not None and "ZeroDivisionError" in str(run.exit_details)
        assert admin.issues_get(issue.id).status in {"queued", "assigned"}
        # Back in the queue: claimed again, a second attempt; left unended, it says so.
        with (
            pytest.warns(RuntimeWarning, match="without complete"),
            agent.claim(wait_seconds=5) as again,
        ):
            assert again is not None and again.issue.id == issue.id
            assert again.run.attempt == 2
        assert admin.runs_get(issue.id, again.run.id).exit_reason == "failed"
        assert admin.issues_get(issue.id).attempts == 2


def test_serve_with_concurrency_4_completes_each_of_40_issues_once(
    stack: Stack, acme: Company, admin: Client
) -> None:
    agent_id, client = _agent(stack, acme, capacity=4)
    ids = [
        admin.issues_create({"title": f"Batch {n}", "assigned_agent_id": agent_id}).id
        for n in range(40)
    ]
    seen: list[str] = []
    lock = threading.Lock()
    most_at_once, running = 0, 0

    def handler(work: Work) -> dict[str, Any]:
        nonlocal most_at_once, running
        with lock:
            seen.append(work.issue.id)
            running += 1
            most_at_once = max(most_at_once, running)
        work.checkpoint(progress={"pct": 50})
        time.sleep(0.05)
        with lock:
            running -= 1
        return {"title": work.issue.title}

    with client:
        agent = client.agent()
        serving = threading.Thread(
            target=agent.serve,
            args=(handler,),
            kwargs={"concurrency": 4, "wait_seconds": 1, "handle_signals": False},
        )
        serving.start()
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                page = admin.issues_list(agent=agent_id, status="review", limit=50)
                if len(page.data) == len(ids):
                    break
                time.sleep(0.25)
        finally:
            agent.stop()
            serving.join(30)
        assert not serving.is_alive()
    assert sorted(seen) == sorted(ids)  # each once
    assert most_at_once >= 2
    for iid in ids:
        runs = admin.runs_list(iid).data
        assert [r.exit_reason for r in runs] == ["completed"], iid
