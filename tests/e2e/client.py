"""A small HTTP client for the end-to-end tests: the calls a user makes, nothing hidden."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx


class Api:
    """An httpx client on a running stack, with helpers that build a company to test in."""

    def __init__(self, base_url: str, operator_token: str) -> None:
        self.base_url = base_url
        self.operator_token = operator_token
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def call(
        self,
        method: str,
        path: str,
        token: str | None,
        json: Any = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, path, json=json, headers=headers, **kwargs)

    def operator(self, method: str, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.call(method, path, self.operator_token, json, **kw)

    def new_company(self, name: str = "Acme") -> Company:
        company = self.operator("POST", "/v1/companies", {"name": name})
        assert company.status_code == 201, company.text
        cid = company.json()["id"]
        token = self.operator("POST", f"/v1/companies/{cid}/tokens", {"role": "admin"})
        assert token.status_code == 201, token.text
        return Company(self, cid, token.json()["token"])


@dataclass
class Company:
    """A company with its admin token; ``call`` speaks for that admin by default."""

    api: Api
    id: str
    token: str

    @property
    def prefix(self) -> str:
        return f"/v1/companies/{self.id}"

    def call(
        self, method: str, path: str, json: Any = None, *, token: str | None = "", **kw: Any
    ) -> httpx.Response:
        return self.api.call(
            method, self.prefix + path, self.token if token == "" else token, json, **kw
        )

    def ok(self, method: str, path: str, json: Any = None, status: int = 200, **kw: Any) -> Any:
        response = self.call(method, path, json, **kw)
        assert response.status_code == status, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def agent(self, name: str = "writer", **fields: Any) -> dict[str, Any]:
        return self.ok("POST", "/agents", {"name": name, **fields}, status=201)  # type: ignore[no-any-return]

    def team(self, name: str = "core") -> dict[str, Any]:
        return self.ok("POST", "/teams", {"name": name}, status=201)  # type: ignore[no-any-return]

    def issue(self, title: str = "Write the hero copy", **fields: Any) -> dict[str, Any]:
        return self.ok("POST", "/issues", {"title": title, **fields}, status=201)  # type: ignore[no-any-return]

    def agent_token(self, agent_id: str) -> str:
        body = self.ok("POST", "/tokens", {"role": "agent", "agentId": agent_id}, status=201)
        return str(body["token"])

    def agent_with_token(self, name: str = "worker", **fields: Any) -> tuple[str, str]:
        """A new agent: its id and an agent token for it."""
        agent = self.agent(name, **fields)
        return agent["id"], self.agent_token(agent["id"])

    def claim(self, agent_id: str, token: str, **body: Any) -> dict[str, Any]:
        """The agent's claim, which must start a run: ``{"issue", "run", "lease"}``."""
        response = self.call("POST", f"/agents/{agent_id}/claim", body, token=token)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def run_call(
        self,
        claimed: dict[str, Any],
        verb: str,
        token: str,
        headers: dict[str, str] | None = None,
        **body: Any,
    ) -> httpx.Response:
        """``POST …/runs/{rid}/{verb}`` of a claimed run, with its lease token by default."""
        body.setdefault("leaseToken", claimed["lease"]["token"])
        path = f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}/{verb}"
        return self.call("POST", path, body, token=token, headers=headers)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"] == f"https://agentq.dev/problems/{code}"
    assert body["title"] and body["detail"]
    return body


def assert_invalid(response: httpx.Response, *fields: str | int) -> list[dict[str, Any]]:
    """A 422 ``invalid_request`` whose ``errors`` name each of ``fields`` somewhere in a loc."""
    body = assert_problem(response, 422, "invalid_request")
    errors: list[dict[str, Any]] = body["errors"]
    assert isinstance(errors, list) and errors, body
    for error in errors:
        assert isinstance(error["loc"], list), error
        assert isinstance(error["msg"], str) and error["msg"], error
    for field in fields:
        assert any(field in error["loc"] for error in errors), (field, errors)
    return errors


def walk(company: Company, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list, following ``nextCursor`` until ``hasMore`` is false."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = company.ok("GET", path, params=query)
        items.extend(page["data"])
        if not page["hasMore"]:
            assert page["nextCursor"] is None, page
            return items
        assert page["nextCursor"], page
        cursor = page["nextCursor"]
    raise AssertionError(f"{path} never stopped paginating")


def poll_command(company: Company, location: str, timeout_s: float = 10) -> dict[str, Any]:
    """GET a command's Location until it is no longer ``accepted`` (bounded polling)."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = company.api.call("GET", location, company.token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] != "accepted" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)
