"""The agentq MCP server (the ``mcp`` extra: ``pip install 'agentq-client[mcp]'``): a
model's tools over the HTTP API, built on ``AsyncClient`` and ``AsyncWork``.

An agent token gets the agent's tools (claim an issue, checkpoint, report cost, ask for
approval, comment, complete/fail/hand off); a company admin token the admin's (create,
assign, reassign, cancel, review issues; decide approvals). Issues are resources,
``agentq://issues/{id}``. While an agent's run is open the server keeps its lease alive
between tool calls; once the run is stopped every tool result says so. Run it with
``agentq-mcp`` (stdio) or ``agentq-mcp --http --port N``. See docs/mcp.md.
"""

from agentq_client.mcp._cli import main
from agentq_client.mcp._server import ISSUE_URI, Options, build_server

__all__ = ["ISSUE_URI", "Options", "build_server", "main"]
