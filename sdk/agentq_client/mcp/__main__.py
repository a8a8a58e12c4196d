"""``python -m agentq_client.mcp``: the MCP server (see ``_cli.py``)."""

from agentq_client.mcp._cli import main

main()
