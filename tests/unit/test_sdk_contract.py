"""The SDK covers the served document: a method per operation, its query parameters, the
webhook event types; it stands alone (imports nothing of the server); its transport retries
with one Idempotency-Key, follows a 202 and raises typed errors."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentq_client import (
    AsyncClient,
    Client,
    Conflict,
    InvalidRequest,
    RetryPolicy,
    StaleLease,
    Unavailable,
)
from agentq_client.webhooks import EVENT_MODELS

from api.app import create_app
from service.settings import Settings

PACKAGE = Path(__file__).resolve().parents[2] / "sdk" / "agentq_client"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(data_dir=Path(tmp_path_factory.mktemp("doc"))))
    return app.openapi_schema.to_schema()


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in document["paths"].values() for op in item.values()}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_every_operation_of_the_document_has_a_method_on_both_clients(
    document: dict[str, Any],
) -> None:
    operations = _operations(document)
    assert len(operations) >= 50
    for client in (Client, AsyncClient):
        missing = sorted(op for op in operations if not callable(getattr(client, op, None)))
        assert missing == [], f"{client.__name__} has no method for {missing}"
    for op in operations:
        assert inspect.iscoroutinefunction(getattr(AsyncClient, op)), op
        assert not inspect.iscoroutinefunction(getattr(Client, op)), op


def test_every_method_named_like_an_operation_is_one(document: dict[str, Any]) -> None:
    resources = {op.split("_")[0] for op in _operations(document)}
    methods = {
        name
        for name in dir(Client)
        if not name.startswith("_") and name.split("_")[0] in resources and "_" in name
    }
    assert sorted(methods - set(_operations(document))) == []


def test_each_method_takes_the_query_parameters_of_its_operation(
    document: dict[str, Any],
) -> None:
    for op_id, op in _operations(document).items():
        query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        for client in (Client, AsyncClient):
            taken = set(inspect.signature(getattr(client, op_id)).parameters)
            assert sorted({_snake(q) for q in query} - taken) == [], f"{client.__name__}.{op_id}"


def test_there_is_an_event_model_for_each_webhook_event_type(document: dict[str, Any]) -> None:
    types = document["components"]["schemas"]["WebhookEvent"]["properties"]["type"]["enum"]
    assert sorted(EVENT_MODELS) == sorted(types) == sorted(document["webhooks"])


def test_the_sdk_imports_nothing_of_the_server() -> None:
    allowed = {"agentq_client", "httpx", "pydantic", "standardwebhooks", "typing_extensions"}
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in _stdlib(), f"{path.name} imports {name}"


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names)


# The transport, against a scripted HTTP answerer (no server: the e2e tests have that)

FAST = RetryPolicy(total_seconds=5, backoff_seconds=0.01, default_retry_after_seconds=0.01)


def _client(answer: Callable[[httpx.Request], httpx.Response]) -> Client:
    http = httpx.Client(base_url="http://agentq.test", transport=httpx.MockTransport(answer))
    return Client("http://agentq.test", "tok", company_id="cmp_1", retry=FAST, http=http)


def _problem(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {"type": f"https://agentq.dev/problems/{code}", "title": code, "status": status}
    body |= {"detail": code, "code": code, **extra}
    headers = {"Retry-After": "0"} if status in {429, 503} else {}
    return httpx.Response(status, json=body, headers=headers)


TEAM = {"id": "tm_1", "companyId": "cmp_1", "name": "core", "createdAt": "2026-04-11T08:14:00Z"}


def test_a_write_retried_after_503_and_429_sends_one_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    answers = [_problem(503, "unavailable"), _problem(429, "rate_limited")]

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0) if answers else httpx.Response(201, json=TEAM)

    team = _client(answer).teams_create({"name": "core"})
    assert team.id == "tm_1" and len(seen) == 3
    keys = {request.headers["idempotency-key"] for request in seen}
    assert len(keys) == 1 and keys != {""}
    again = _client(answer).teams_create({"name": "core"})
    assert again.id == "tm_1"
    assert seen[-1].headers["idempotency-key"] not in keys  # one key per logical call


def test_retries_stop_at_the_total_time_and_raise_the_last_error() -> None:
    client = _client(lambda _: _problem(503, "unavailable"))
    client._transport.retry = RetryPolicy(total_seconds=0.05, default_retry_after_seconds=0.02)
    with pytest.raises(Unavailable):
        client.teams_get("tm_1")


def test_a_202_is_followed_to_the_applied_outcome() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            location = "/v1/companies/cmp_1/commands/cmd_1"
            body = {"commandId": "cmd_1", "status": "accepted"}
            return httpx.Response(202, json=body, headers={"Location": location})
        return httpx.Response(200, json={"id": "cmd_1", "status": "applied", "result": TEAM})

    assert _client(answer).teams_create({"name": "core"}).name == "core"


def test_a_rejected_202_and_problems_raise_their_typed_errors() -> None:
    def rejected(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            headers = {"Location": "/v1/companies/cmp_1/commands/cmd_1"}
            return httpx.Response(
                202, json={"commandId": "cmd_1", "status": "accepted"}, headers=headers
            )
        error = _problem(409, "stale_lease", stop=True, stopReason="cancelled").json()
        return httpx.Response(200, json={"id": "cmd_1", "status": "rejected", "error": error})

    with pytest.raises(StaleLease) as stale:
        _client(rejected).runs_checkpoint("iss_1", "run_1", {"leaseToken": "lse_1"})
    assert isinstance(stale.value, Conflict)
    assert (stale.value.stop, stale.value.stop_reason) == (True, "cancelled")
    invalid = _problem(422, "invalid_request", errors=[{"loc": ["title"], "msg": "too long"}])
    with pytest.raises(InvalidRequest) as refused:
        _client(lambda _: invalid).issues_create({"title": "x"})
    assert refused.value.errors[0].loc == ["title"]


def test_money_is_sent_as_a_plain_decimal_string() -> None:
    from decimal import Decimal

    from agentq_client._work_common import usd_text

    assert [usd_text(v) for v in (0.1, 1e-05, "0.0042", Decimal("1.50"), 2)] == [
        "0.1",
        "0.00001",
        "0.0042",
        "1.50",
        "2",
    ]
