"""The MCP server: FastMCP with the tools of the token's role, issues as resources, one
``SessionState`` per MCP session (its lifespan: a stdio process's, or one HTTP session's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mcp.server.fastmcp import FastMCP

from agentq_client import __version__
from agentq_client.errors import AgentqError
from agentq_client.mcp._admin_tools import ADMIN_TOOLS, AdminTools
from agentq_client.mcp._agent_tools import AGENT_TOOLS, AgentTools
from agentq_client.mcp._issues import ReadTools, describe
from agentq_client.mcp._session import SessionState

if TYPE_CHECKING:
    from agentq_client._async_agent import AsyncAgent
    from agentq_client._async_client import AsyncClient

__all__ = ["ISSUE_URI", "Options", "build_server"]

#: An issue as an MCP resource.
ISSUE_URI = "agentq://issues/{issue_id}"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

AGENT_INSTRUCTIONS = (
    "agentq is a task queue; you are one of its agents. Call claim_next_issue to get an "
    "issue, work on it, and end the run with complete_run, fail_run or handoff_run. This "
    "server keeps the run's lease alive between your calls. If a tool result says THE RUN "
    "IS OVER, stop working on that issue at once."
)
ADMIN_INSTRUCTIONS = (
    "agentq is a task queue for AI agents; you act as an admin of one company: create "
    "issues, assign them to agents or teams, review finished work, decide approvals."
)


@dataclass(frozen=True)
class Options:
    """How the server runs: the lease it claims with, where HTTP listens."""

    lease_seconds: int = 60
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: LogLevel = "WARNING"


async def build_server(client: AsyncClient, options: Options) -> FastMCP[SessionState]:
    """The server for ``client``'s token: an agent's tools for an agent token, an admin's
    for a company admin token (``GET /v1/me`` says which)."""
    me = await client.me_get()
    agent: AsyncAgent | None = None
    tools: ReadTools
    names: tuple[str, ...]
    if me.role == "agent":
        agent = await client.agent()
        tools, names, instructions = AgentTools(client), AGENT_TOOLS, AGENT_INSTRUCTIONS
    elif me.role == "admin":
        tools, names, instructions = AdminTools(client), ADMIN_TOOLS, ADMIN_INSTRUCTIONS
    else:
        raise AgentqError(
            "the operator token belongs to no company: give the MCP server an agent token "
            "or a company admin token (AGENTQ_TOKEN)"
        )

    @asynccontextmanager
    async def session(_: FastMCP[SessionState]) -> AsyncIterator[SessionState]:
        state = SessionState(client, agent, options.lease_seconds)
        try:
            yield state
        finally:
            await state.close()

    server: FastMCP[SessionState] = FastMCP(
        "agentq",
        instructions=instructions,
        lifespan=session,
        host=options.host,
        port=options.port,
        log_level=options.log_level,
    )
    # FastMCP takes no version: without this, initialize's serverInfo.version names the mcp
    # package's release, not this server's.
    server._mcp_server.version = __version__
    for name in names:
        server.add_tool(getattr(tools, name), name=name, structured_output=False)

    async def issue_resource(issue_id: str) -> str:
        """One issue with its comments and dependencies, as text."""
        return await describe(client, await client.issues_get(issue_id))

    server.resource(
        ISSUE_URI,
        name="issue",
        title="agentq issue",
        description="An issue of the company: fields, latest comments, dependencies.",
        mime_type="text/markdown",
    )(issue_resource)
    return server
