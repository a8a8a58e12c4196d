"""The MCP server (``agentq_client.mcp``, ``agentq mcp``) against both stacks, driven by the
``mcp`` package's own client (``ClientSession``) over stdio and over streamable HTTP: the
tools per role, the agent loop through tools, a silent model's lease, a cancel mid-run, a
session that ends with its run open. Leases are the API's shortest (10 s); the stacks
sweep every second."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import agentq_client
import pytest
from agentq_client.mcp._admin_tools import ADMIN_TOOLS
from agentq_client.mcp._agent_tools import AGENT_TOOLS
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, InitializeResult, TextContent, TextResourceContents
from pydantic import AnyUrl

from tests.e2e.client import Api, Company
from tests.procs import ROOT, Stack, free_port

Transport = Literal["stdio", "http"]
#: The API's shortest lease, in seconds: the server renews it every 3.3 s.
LEASE_SECONDS = 5
#: How long an HTTP server has to start listening, in seconds.
START_SECONDS = 20.0


@pytest.fixture(scope="module")
def acme(stack: Stack) -> Iterator[Company]:
    with Api(stack.base_url, stack.admin_token) as api:
        yield api.new_company("MCP")


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run the async scenario; a failure inside the client's task groups is raised as
    itself, not as the groups that wrap it."""
    try:
        asyncio.run(scenario())
    except BaseExceptionGroup as group:
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        raise leaf from None


def _env(stack: Stack, token: str) -> dict[str, str]:
    return {
        "AGENTQ_URL": stack.base_url,
        "AGENTQ_TOKEN": token,
        "AGENTQ_MCP_LEASE_SECONDS": str(LEASE_SECONDS),
    }


@asynccontextmanager
async def http_server(stack: Stack, token: str, log: Path) -> AsyncIterator[str]:
    """An MCP server on streamable HTTP for ``token``; its URL."""
    port = free_port()
    with log.open("a") as errlog:
        server = subprocess.Popen(  # `agentq mcp`, the server's command line, runs the SDK's
            [sys.executable, "-m", "api.cli", "mcp", "--http", "--port", str(port)],
            env={**os.environ, **_env(stack, token)},
            cwd=ROOT,
            stdout=errlog,
            stderr=errlog,
        )
        try:
            await _listening(port, server)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            server.terminate()
            server.wait(20)


class Session(ClientSession):
    """A client session that keeps the server's answer to ``initialize``."""

    initialized: InitializeResult

    async def initialize(self) -> InitializeResult:
        self.initialized = await super().initialize()
        return self.initialized


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[Session]:
    """An initialized client session on the HTTP server at ``url``."""
    async with (
        streamable_http_client(url) as (read, write, _),
        Session(read, write) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def mcp_session(
    stack: Stack, token: str, transport: Transport, log: Path
) -> AsyncIterator[Session]:
    """An initialized client session on a fresh MCP server process for ``token``."""
    if transport == "http":
        async with http_server(stack, token, log) as url, connect(url) as session:
            yield session
        return
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agentq_client.mcp"], env=_env(stack, token), cwd=ROOT
    )
    with log.open("a") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            Session(read, write) as session,
        ):
            await session.initialize()
            yield session


async def _listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, "the MCP server exited at start"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"the MCP server did not listen on {port} in {START_SECONDS} s")


async def _polled(read: Callable[[], dict[str, Any]], key: str) -> dict[str, Any]:
    """``read()`` until its ``key`` is None (bounded: 10 s)."""
    deadline = time.monotonic() + 10
    while (body := read())[key] is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return body


async def call(session: ClientSession, name: str, **arguments: Any) -> CallToolResult:
    return await session.call_tool(name, arguments)


def text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


def ok(result: CallToolResult) -> str:
    assert not result.isError, text(result)
    return text(result)


def error(result: CallToolResult) -> str:
    assert result.isError, text(result)
    return text(result)


def test_the_tools_follow_the_role_with_described_inputs_and_issue_resources(
    stack: Stack, acme: Company, tmp_path: Path
) -> None:
    _, agent_token = acme.agent_with_token("mcp-roles")

    async def scenario() -> None:
        for token, expected in ((agent_token, AGENT_TOOLS), (acme.token, ADMIN_TOOLS)):
            async with mcp_session(stack, token, "stdio", tmp_path / "mcp.log") as session:
                assert session.initialized.serverInfo.name == "agentq"
                assert session.initialized.serverInfo.version == agentq_client.__version__
                tools = (await session.list_tools()).tools
                assert sorted(t.name for t in tools) == sorted(expected)
                for tool in tools:
                    assert tool.description, tool.name
                    for name, prop in tool.inputSchema.get("properties", {}).items():
                        assert prop.get("description"), (tool.name, name)
                templates = (await session.list_resource_templates()).resourceTemplates
                assert [t.uriTemplate for t in templates] == ["agentq://issues/{issue_id}"]

    run(scenario)
    operator = subprocess.run(
        [sys.executable, "-m", "api.cli", "mcp"],
        env={**os.environ, "AGENTQ_URL": stack.base_url, "AGENTQ_TOKEN": stack.admin_token},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert operator.returncode == 1, operator.stderr
    assert operator.stderr.startswith("agentq mcp: ") and "operator token" in operator.stderr


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_the_agent_loop_claim_checkpoint_complete_through_tools(
    stack: Stack, acme: Company, transport: Transport, tmp_path: Path
) -> None:
    agent_id, agent_token = acme.agent_with_token(f"mcp-loop-{transport}")
    first = acme.issue("Research the market", assignedAgentId=agent_id)
    log = tmp_path / "mcp.log"

    async def scenario() -> None:
        async with (
            mcp_session(stack, acme.token, transport, log) as admin,
            mcp_session(stack, agent_token, transport, log) as agent,
        ):
            assert "no open run: call claim_next_issue first" in error(
                await call(agent, "complete_run", result={"words": 1})
            )
            created = ok(
                await call(
                    admin,
                    "create_issue",
                    title="Draft the launch post",
                    description="Announce v2 on the blog.",
                    labels=["marketing"],
                    budget_usd="2.50",
                    dependencies=[first["id"]],
                )
            )
            iid = created.split()[1]
            assert iid.startswith("iss_"), created
            acme.ok(
                "POST",
                f"/issues/{iid}/comments",
                {"text": "Keep it short.", "author": "user:al"},
                status=201,
            )
            # The dependency first: claimed and completed as the model would, then accepted.
            claimed = ok(await call(agent, "claim_next_issue", wait_seconds=5))
            assert first["id"] in claimed and "Research the market" in claimed
            ok(await call(agent, "complete_run", result={"summary": "done"}))
            ok(await call(admin, "review_issue", issue_id=first["id"], decision="accept"))
            ok(await call(admin, "assign_issue", issue_id=iid, agent_id=agent_id))

            claimed = ok(await call(agent, "claim_next_issue", wait_seconds=5))
            for part in (
                "Draft the launch post",
                "Announce v2 on the blog.",
                "marketing",
                "$2.50 per task",
                "Keep it short.",
                f"{first['id']} (done",
            ):
                assert part in claimed, (part, claimed)
            acme.ok(
                "POST",
                f"/issues/{iid}/comments",
                {"text": "Mention pricing.", "author": "user:al"},
                status=201,
            )
            checkpointed = ok(await call(agent, "checkpoint", progress={"pct": 40}))
            assert "Checkpoint recorded" in checkpointed
            assert "New comment user:al" in checkpointed and "Mention pricing." in checkpointed
            assert "Keep it short." not in checkpointed  # the claim showed it already
            cost = ok(await call(agent, "report_cost", usd="0.0042", input_tokens=1200))
            assert "$0.0042" in cost and "$0.0042 of $2.50 spent" in cost, cost
            asked = ok(
                await call(agent, "request_approval", action="publish", details={"to": "blog"})
            )
            apid = asked.split()[1]
            assert apid in ok(await call(admin, "list_approvals"))
            ok(
                await call(
                    admin, "decide_approval", approval_id=apid, decision="approve", comment="go"
                )
            )
            heard = ok(await call(agent, "checkpoint"))
            assert f"Approval {apid} for 'publish' was approved" in heard, heard
            ok(await call(agent, "post_comment", text="Published."))
            done = ok(await call(agent, "complete_run", result={"words": 280}))
            assert f"issue {iid} is now review" in done
            again = error(await call(agent, "complete_run", result={"words": 280}))
            assert "no open run" in again and "completed" in again
            assert "is now done" in ok(
                await call(admin, "review_issue", issue_id=iid, decision="accept")
            )
            read = await agent.read_resource(AnyUrl(f"agentq://issues/{iid}"))
            body = read.contents[0]
            assert isinstance(body, TextResourceContents)
            assert "# Draft the launch post" in body.text and "status done" in body.text
            assert "agent:" in body.text and "Published." in body.text
            listed = ok(await call(agent, "list_issues", status=["done"], agent=agent_id))
            assert iid in listed and first["id"] in listed

    run(scenario)
    run_ = acme.ok("GET", f"/issues/{first['id']}")
    assert run_["status"] == "done" and run_["attempts"] == 1


def test_a_silent_models_lease_is_held_then_a_cancel_is_heard(
    stack: Stack, acme: Company, tmp_path: Path
) -> None:
    # One transport per stack, so the heartbeat is shown through each: it is the server's.
    transport: Transport = "stdio" if stack.kind == "embedded" else "http"
    agent_id, agent_token = acme.agent_with_token("mcp-silent")
    issue = acme.issue("Think for a long time", assignedAgentId=agent_id)

    async def scenario() -> None:
        async with mcp_session(stack, agent_token, transport, tmp_path / "mcp.log") as agent:
            ok(await call(agent, "claim_next_issue", wait_seconds=5))
            await asyncio.sleep(3 * LEASE_SECONDS + 1)  # the model says nothing
            live = acme.ok("GET", f"/issues/{issue['id']}")
            assert live["status"] == "running" and live["attempts"] == 1, live
            ok(await call(agent, "checkpoint", progress={"pct": 90}))

            acme.ok("POST", f"/issues/{issue['id']}/cancel", {"reason": "not needed"})
            told = ok(await call(agent, "get_issue"))
            assert told.startswith(
                "THE RUN IS OVER (cancelled: the issue was cancelled by a human)"
            )
            for name, args in (("checkpoint", {}), ("complete_run", {"result": {}})):
                refused = error(await call(agent, name, **args))
                assert refused.startswith("THE RUN IS OVER (cancelled"), (name, refused)
            assert "No issue to work on" in ok(
                await call(agent, "claim_next_issue", wait_seconds=0)
            )

    run(scenario)
    runs = acme.ok("GET", f"/issues/{issue['id']}/runs")["data"]
    assert [r["exitReason"] for r in runs] == ["cancelled"]


def test_a_session_that_ends_with_its_run_open_hands_it_back(
    stack: Stack, acme: Company, tmp_path: Path
) -> None:
    agent_id, agent_token = acme.agent_with_token("mcp-leaver")
    issue = acme.issue("Start and walk away", assignedAgentId=agent_id)

    async def scenario() -> None:
        async with mcp_session(stack, agent_token, "stdio", tmp_path / "mcp.log") as agent:
            ok(await call(agent, "claim_next_issue", wait_seconds=5))

    run(scenario)
    back = acme.ok("GET", f"/issues/{issue['id']}")
    assert back["status"] in {"queued", "assigned"} and back["currentRunId"] is None, back
    runs = acme.ok("GET", f"/issues/{issue['id']}/runs")["data"]
    assert [r["exitReason"] for r in runs] == ["failed"]


def test_each_http_session_holds_its_own_run_and_hands_it_back_when_it_ends(
    stack: Stack, acme: Company, tmp_path: Path
) -> None:
    agent_id, agent_token = acme.agent_with_token("mcp-two", capacity=2)
    one = acme.issue("First of two", assignedAgentId=agent_id)
    two = acme.issue("Second of two", assignedAgentId=agent_id)

    async def scenario() -> None:
        async with (
            http_server(stack, agent_token, tmp_path / "mcp.log") as url,
            connect(url) as second,
        ):
            async with connect(url) as first:
                assert one["id"] in ok(await call(first, "claim_next_issue", wait_seconds=5))
                assert two["id"] in ok(await call(second, "claim_next_issue", wait_seconds=5))
            # The first session is closed (DELETE): its run goes back to the queue, as the
            # server ends the session (after the DELETE's answer).
            back = await _polled(lambda: acme.ok("GET", f"/issues/{one['id']}"), "currentRunId")
            assert back["currentRunId"] is None and back["status"] != "running", back
            done = ok(await call(second, "complete_run", result={}))
            assert f"issue {two['id']} is now review" in done

    run(scenario)
