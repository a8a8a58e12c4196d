"""The server's retry backoff (``AGENTQ_RETRY_BASE_S``, ``AGENTQ_RETRY_MAX_S``) for issues
that name no ``retryPolicy``, on stacks of their own (both kinds) with a 2 s backoff: after
a retryable failure and after an expired lease, nothing claims the issue before its
``notBefore``, and the claim after it does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import stack_of_its_own
from tests.e2e.client import Api, Company
from tests.e2e.test_backoff_and_time import _claim_when_due, _entries, _not_before, _time
from tests.procs import ServiceUrls, Stack, start_embedded

#: A 2 s backoff for every retry (the cap is the base: each waits a draw in [0, 2 s]).
BACKOFF_ENV = {"AGENTQ_RETRY_BASE_S": "2", "AGENTQ_RETRY_MAX_S": "2"}


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def slow_retries(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    log_dir: Path = tmp_path_factory.mktemp(f"retry-{request.param}")
    if request.param == "embedded":
        stack: Stack = start_embedded(log_dir, overrides=BACKOFF_ENV)
        try:
            with Api(stack.base_url, stack.admin_token) as api:
                yield api
        finally:
            stack.stop()
        return
    urls: ServiceUrls = request.getfixturevalue("service_urls")
    with (
        stack_of_its_own(urls, log_dir, overrides=BACKOFF_ENV) as own,
        Api(own.base_url, own.admin_token) as api,
    ):
        yield api


def _team_issue(acme: Company) -> tuple[dict[str, Any], str, str]:
    team = acme.team()
    aid, token = acme.agent_with_token(teamIds=[team["id"]])
    return acme.issue("flaky", assignedTeamId=team["id"]), aid, token


def test_a_retryable_failure_waits_the_servers_backoff_before_the_next_claim(
    slow_retries: Api,
) -> None:
    acme = slow_retries.new_company()
    issue, aid, token = _team_issue(acme)
    assert issue["retryPolicy"] is None
    first = acme.claim(aid, token)
    requeued = acme.run_call(first, "fail", token, reason="busy", retryable=True).json()
    not_before = _not_before(requeued)
    assert requeued["status"] == "queued"
    assert timedelta(0) <= not_before - _time(requeued["updatedAt"]) <= timedelta(seconds=2)
    second, _ = _claim_when_due(acme, aid, token)
    assert second["issue"]["id"] == issue["id"] and second["run"]["attempt"] == 2
    assert _time(second["run"]["startedAt"]) >= not_before


def test_an_expired_lease_is_retried_after_the_same_backoff(slow_retries: Api) -> None:
    acme = slow_retries.new_company()
    issue, aid, token = _team_issue(acme)
    first = acme.claim(aid, token, leaseSeconds=5)
    deadline = time.monotonic() + 30
    while not (requeued := _entries(acme, issue["id"], "issue.requeued")):
        assert time.monotonic() < deadline, "the lease was never expired"
        time.sleep(0.2)
    [entry] = requeued
    assert entry["actor"] == "system:sweeper"
    not_before = _time(entry["notBefore"] or entry["at"])  # null: a draw of nothing
    assert timedelta(0) <= not_before - _time(entry["at"]) <= timedelta(seconds=2)
    second, _ = _claim_when_due(acme, aid, token)
    assert second["issue"]["id"] == issue["id"] and second["run"]["attempt"] == 2
    assert _time(second["run"]["startedAt"]) >= not_before
    run = acme.ok("GET", f"/issues/{issue['id']}/runs/{first['run']['id']}")
    assert run["exitReason"] == "lease_expired"
