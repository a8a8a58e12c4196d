"""The SDK's clients against both stacks: the company from the token, the operator naming
one, pagination, typed errors, idempotency keys, 202s followed, and the asyncio loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from agentq_client import (
    AgentqError,
    AsyncClient,
    AsyncWork,
    Client,
    InvalidRequest,
    NotFound,
    RunStopped,
    Unauthorized,
    webhooks,
)

from tests.e2e.client import Api, Company
from tests.procs import Stack
from tests.receiver import receiver

LEASE_SECONDS = 10
HEARTBEAT_SECONDS = LEASE_SECONDS / 3
SLACK_SECONDS = 2.0


@pytest.fixture(scope="module")
def acme(stack: Stack) -> Iterator[Company]:
    with Api(stack.base_url, stack.admin_token) as api:
        yield api.new_company("SDK client")


def test_the_operator_creates_a_company_and_names_it_for_the_rest(stack: Stack) -> None:
    with Client(stack.base_url, stack.admin_token) as operator:
        assert operator.me_get().role == "operator"
        with pytest.raises(AgentqError, match="company_id"):
            operator.teams_list()
        company = operator.companies_create({"name": "Initech"})
        initech = operator.with_company(company.id)
        token = initech.tokens_create({"role": "admin"}).token
        assert initech.companies_get() == company
    assert token is not None
    with Client(stack.base_url, token) as admin:
        assert admin.companies_get().id == company.id  # the company from GET /v1/me
    with pytest.raises(Unauthorized), Client(stack.base_url, "aq_wrong") as nobody:
        nobody.companies_get()


def test_lists_are_followed_page_by_page_and_errors_are_typed(stack: Stack, acme: Company) -> None:
    with Client(stack.base_url, acme.token) as admin:
        made = {
            admin.issues_create({"title": f"Page {n}", "labels": ["paged"]}).id for n in range(5)
        }
        found = [issue.id for issue in admin.paginate(admin.issues_list, label="paged", limit=2)]
        assert sorted(found) == sorted(made) and len(found) == 5
        with pytest.raises(NotFound) as missing:
            admin.issues_get("iss_doesnotexist")
        assert missing.value.problem is not None and missing.value.code == "not_found"
        with pytest.raises(InvalidRequest) as refused:
            admin.issues_list(since="yesterday")
        assert any("since" in error.loc for error in refused.value.errors)


def test_the_company_trail_reads_typed_with_its_changes(stack: Stack, acme: Company) -> None:
    with Client(stack.base_url, acme.token) as admin:
        agent = admin.agents_create({"name": "audited"})
        admin.agents_update(agent.id, {"status": "paused"})
        page = admin.activity_list(scope="company", subject_id=agent.id)
        paused, created = page.data
        assert (paused.type, created.type) == ("agent.paused", "agent.created")
        assert paused.subject_type == "agent" and paused.issue_id is None
        assert paused.changes is not None
        assert paused.changes["status"].before == "active"
        assert paused.changes["status"].after == "paused"
        with pytest.raises(InvalidRequest) as refused:
            admin.activity_list(type="agent.created")  # the default scope: an issue's
        assert any("type" in error.loc for error in refused.value.errors)


def test_one_idempotency_key_applies_once_and_a_202_is_followed_to_its_outcome(
    stack: Stack, acme: Company
) -> None:
    with Client(stack.base_url, acme.token) as admin:
        first = admin.issues_create({"title": "Once"}, idempotency_key="sdk-once-1")
        again = admin.issues_create({"title": "Once"}, idempotency_key="sdk-once-1")
        assert again.id == first.id
    # Every write of this client asks for 202: the SDK reads each outcome back itself.
    http = httpx.Client(base_url=stack.base_url, headers={"Prefer": "respond-async"})
    with http, Client(stack.base_url, acme.token, http=http) as patient:
        issue = patient.issues_create({"title": "Answered later"})
        assert issue.title == "Answered later" and issue.id.startswith("iss_")
        assert patient.issues_cancel(issue.id, {"reason": "demo"}).status == "cancelled"


def test_the_async_loop_heartbeat_task_inbox_and_a_cancel_mid_run(
    stack: Stack, acme: Company
) -> None:
    agent_id, token = acme.agent_with_token("async")

    async def scenario() -> None:
        async with (
            AsyncClient(stack.base_url, acme.token) as admin,
            AsyncClient(stack.base_url, token) as client,
        ):
            agent = await client.agent()
            issue = await admin.issues_create({"title": "Async", "assigned_agent_id": agent_id})
            async with agent.claim(wait_seconds=5, lease_seconds=LEASE_SECONDS) as work:
                assert work is not None and work.issue.id == issue.id
                await admin.comments_create(issue.id, {"text": "hi", "author": "user:bo"})
                await asyncio.sleep(HEARTBEAT_SECONDS + 0.5)  # one heartbeat brings it
                assert getattr(work.inbox.get_nowait(), "text", None) == "hi"
                started = time.monotonic()
                await admin.issues_cancel(issue.id)
                await asyncio.wait_for(work.stop_event.wait(), HEARTBEAT_SECONDS + SLACK_SECONDS)
                assert time.monotonic() - started <= HEARTBEAT_SECONDS + SLACK_SECONDS
                with pytest.raises(RunStopped) as stopped:
                    await work.checkpoint()
                assert stopped.value.reason == "cancelled"
            run = await admin.runs_get(issue.id, work.run.id)
            assert run.exit_reason == "cancelled" and run.lease_history[0].renewals >= 1

    asyncio.run(scenario())


def test_async_serve_completes_each_issue_once(stack: Stack, acme: Company) -> None:
    agent_id, token = acme.agent_with_token("async-serve", capacity=2)

    async def scenario() -> list[str]:
        seen: list[str] = []

        async def handler(work: AsyncWork) -> dict[str, str]:
            seen.append(work.issue.id)
            await work.report_cost(0.001, input_tokens=10)
            return {"ok": "yes"}

        async with (
            AsyncClient(stack.base_url, acme.token) as admin,
            AsyncClient(stack.base_url, token) as client,
        ):
            ids = [
                (await admin.issues_create({"title": f"A{n}", "assigned_agent_id": agent_id})).id
                for n in range(6)
            ]
            agent = await client.agent()
            serving = asyncio.create_task(
                agent.serve(handler, concurrency=2, wait_seconds=1, handle_signals=False)
            )
            for _ in range(240):
                page = await admin.issues_list(agent=agent_id, status="review")
                if len(page.data) == len(ids):
                    break
                await asyncio.sleep(0.25)
            agent.stop()
            await asyncio.wait_for(serving, 30)
            assert sorted(seen) == sorted(ids)
            return ids

    assert len(asyncio.run(scenario())) == 6


def test_webhooks_verify_turns_a_real_delivery_into_its_typed_event(
    stack: Stack, acme: Company
) -> None:
    with receiver() as hook, Client(stack.base_url, acme.token) as admin:
        endpoint = admin.webhooks_create({"url": hook.url, "events": ["issue.created"]})
        assert endpoint.secret is not None
        issue = admin.issues_create({"title": "Heard about"})
        (delivery,) = hook.wait_for(1)
        admin.webhooks_delete(endpoint.id)
    event = webhooks.verify(delivery.body, delivery.headers, endpoint.secret)
    assert isinstance(event, webhooks.IssueCreated)
    assert event.id == delivery.headers["webhook-id"] and event.data.issue.id == issue.id
    forged = delivery.body.replace("Heard about", "Forged")
    with pytest.raises(webhooks.WebhookVerificationFailed):
        webhooks.verify(forged, delivery.headers, endpoint.secret)


def test_an_admin_drives_an_agent_with_a_token_made_for_it_and_revoked_after(
    stack: Stack, acme: Company
) -> None:
    with Client(stack.base_url, acme.token) as admin:
        agent_id = admin.agents_create({"name": "driven"}).id
        issue = admin.issues_create({"title": "Driven", "assigned_agent_id": agent_id})
        with admin.agent(agent_id) as agent:
            minted = agent.client._transport.token
            assert agent.client.me_get().agent_id == agent_id  # an agent token for it
            with agent.claim(wait_seconds=5, lease_seconds=LEASE_SECONDS) as work:
                assert work is not None and work.issue.id == issue.id
                work.complete({"by": "admin"})
        with pytest.raises(Unauthorized), Client(stack.base_url, minted) as revoked:
            revoked.me_get()
        with pytest.raises(AgentqError, match="name one"):
            admin.agent()
