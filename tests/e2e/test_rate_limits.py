"""Per-token rate limits over HTTP, on an embedded stack of their own with a small limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.client import Api, assert_problem
from tests.procs import Stack, start_embedded

LIMIT, WINDOW_S = 5, 3


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir: Path = tmp_path_factory.mktemp("rate-limits")
    limits = {"AGENTQ_RATE_LIMIT": str(LIMIT), "AGENTQ_RATE_LIMIT_WINDOW_S": str(WINDOW_S)}
    stack = start_embedded(log_dir, limits)
    try:
        yield stack
    finally:
        stack.stop()


def _start_of_a_window() -> None:
    """Wait for a fresh window, so all of a test's requests fall in one."""
    time.sleep(WINDOW_S - time.time() % WINDOW_S + 0.05)


def test_a_token_past_its_limit_gets_429_with_when_to_retry_and_nothing_changes(
    limited: Stack,
) -> None:
    with Api(limited.base_url, limited.admin_token) as api:
        acme = api.new_company()  # the operator's calls are not limited
        _start_of_a_window()
        answers = [acme.call("GET", "/issues") for _ in range(LIMIT)]
        assert [a.status_code for a in answers] == [200] * LIMIT
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0"]
        assert answers[0].headers["RateLimit-Limit"] == str(LIMIT)
        assert answers[0].headers["RateLimit-Policy"] == f"{LIMIT};w={WINDOW_S}"
        refused = acme.call("POST", "/issues", {"title": "over the limit"})
        body = assert_problem(refused, 429, "rate_limited")
        assert str(LIMIT) in body["detail"]
        assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_S
        assert refused.headers["RateLimit-Remaining"] == "0"
        operator = api.operator("GET", f"/v1/companies/{acme.id}/issues")
        assert operator.status_code == 200 and operator.json()["data"] == []  # nothing created
        time.sleep(int(refused.headers["Retry-After"]) + 0.1)
        assert acme.call("GET", "/issues").status_code == 200


def test_tokens_of_one_company_have_separate_allowances(limited: Stack) -> None:
    with Api(limited.base_url, limited.admin_token) as api:
        acme = api.new_company()
        agent = api.operator("POST", f"/v1/companies/{acme.id}/agents", {"name": "a"}).json()
        agent_token = api.operator(
            "POST", f"/v1/companies/{acme.id}/tokens", {"role": "agent", "agentId": agent["id"]}
        ).json()["token"]
        _start_of_a_window()
        for _ in range(LIMIT):
            acme.call("GET", "/issues")
        assert acme.call("GET", "/issues").status_code == 429
        assert acme.call("GET", "/issues", token=agent_token).status_code == 200
