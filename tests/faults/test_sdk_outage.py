"""The SDK through a RabbitMQ outage: a cost report answered 503 while the broker is down is
retried (one Idempotency-Key) until it is applied, and applied once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from agentq_client import Client, RetryPolicy
from agentq_client.models import CostReported

from tests.conftest import stack_of_its_own
from tests.e2e.client import Api
from tests.faults.outages import ensure_all_up, outage
from tests.procs import ServiceUrls, Stack

#: How long the broker stays down while the report is being retried, in seconds.
OUTAGE_SECONDS = 4
#: The report's retries may last this long in all (the outage and the broker's restart).
RETRY_TOTAL_SECONDS = 120


@pytest.fixture
def own_stack(service_urls: ServiceUrls, tmp_path: Path) -> Iterator[Stack]:
    # Tokens stay cached through the outage (a lookup reads PostgreSQL, which stays up).
    with stack_of_its_own(service_urls, tmp_path, overrides={"AGENTQ_AUTH_CACHE_S": "60"}) as s:
        try:
            yield s
        finally:
            ensure_all_up()


def test_a_cost_report_meeting_503s_in_a_rabbitmq_outage_is_applied_once(
    own_stack: Stack,
) -> None:
    with Api(own_stack.base_url, own_stack.admin_token) as api:
        acme = api.new_company()
        agent_id, agent_token = acme.agent_with_token()
        issue = acme.issue("paid during an outage", assignedAgentId=agent_id)
    statuses: list[int] = []
    http = httpx.Client(
        base_url=own_stack.base_url,
        timeout=30,
        event_hooks={"response": [lambda response: statuses.append(response.status_code)]},
    )
    retry = RetryPolicy(total_seconds=RETRY_TOTAL_SECONDS)
    with http, Client(own_stack.base_url, agent_token, retry=retry, http=http) as client:
        with client.agent().claim(wait_seconds=5, lease_seconds=120) as work:
            assert work is not None and work.issue.id == issue["id"]
            answers: list[CostReported] = []
            with outage("rabbitmq"):
                reporter = threading.Thread(target=lambda: answers.append(work.report_cost(0.25)))
                reporter.start()
                time.sleep(OUTAGE_SECONDS)
                assert reporter.is_alive()  # still retrying: the broker is down
            reporter.join(RETRY_TOTAL_SECONDS)
            assert not reporter.is_alive() and len(answers) == 1
            assert answers[0].cost.usd == Decimal("0.25")
            assert 503 in statuses  # it did meet the outage
            work.complete({"paid": "once"})
        with Client(own_stack.base_url, acme.token) as admin:
            run = admin.runs_get(issue["id"], work.run.id)
            assert run.cost.usd == Decimal("0.25")  # one report, not one per attempt
            assert admin.issues_get(issue["id"]).budget.spent.usd == Decimal("0.25")
