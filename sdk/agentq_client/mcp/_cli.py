"""``agentq-mcp`` (also ``agentq mcp``, ``python -m agentq_client.mcp``): the MCP server on
stdio, or on streamable HTTP with ``--http``. ``AGENTQ_URL`` and ``AGENTQ_TOKEN`` (an
agent token or a company admin token) say which API and who. Logs go to stderr (on stdio,
stdout is the protocol)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import cast

import anyio
from anyio import ClosedResourceError

from agentq_client._async_client import AsyncClient
from agentq_client.errors import AgentqError
from agentq_client.mcp._server import Options, build_server
from agentq_client.models import ClaimBody

__all__ = ["main", "parser"]

DEFAULT_URL = "http://127.0.0.1:3100"


def _lease_range() -> tuple[int, int]:
    """The API's lease bounds, in seconds, as the claim body's schema states them (the SDK's
    models are generated from the API's document, so they follow it)."""
    field = ClaimBody.model_fields["lease_seconds"]
    low = next(cast(int, m.ge) for m in field.metadata if hasattr(m, "ge"))
    high = next(cast(int, m.le) for m in field.metadata if hasattr(m, "le"))
    return low, high


#: The API's lease bounds, in seconds.
LEASE_RANGE_SECONDS = _lease_range()


def _lease_seconds(text: str) -> int:
    value = int(text)
    low, high = LEASE_RANGE_SECONDS
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be {low} to {high}")
    return value


def parser(prog: str = "agentq-mcp") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="The agentq MCP server: an agent's tools for an agent token, an admin's "
        "for a company admin token (AGENTQ_TOKEN), over stdio or streamable HTTP.",
    )
    p.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP: the address to listen on")
    p.add_argument("--port", type=int, default=8000, help="HTTP: the port (path /mcp)")
    p.add_argument("--url", default=None, help=f"the API (default $AGENTQ_URL, else {DEFAULT_URL})")
    p.add_argument(
        "--lease-seconds",
        type=_lease_seconds,
        default=os.environ.get("AGENTQ_MCP_LEASE_SECONDS", "60"),
        help=(
            "the lease a claim asks for, {} to {} (default $AGENTQ_MCP_LEASE_SECONDS or 60); "
            "the server renews it every third of that while a run is open"
        ).format(*LEASE_RANGE_SECONDS),
    )
    p.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        help="what the server logs to stderr (default WARNING)",
    )
    return p


def _closed_stream_noise(record: logging.LogRecord) -> bool:
    """False for mcp 1.x's ERROR with a traceback that every HTTP session closed by its
    client (DELETE) logs: the session's event stream, closed on purpose, read once more.
    Nothing failed; an operator should not be told something did."""
    closed = record.exc_info is not None and isinstance(record.exc_info[1], ClosedResourceError)
    return not (closed and record.getMessage() == "Error in standalone SSE writer")


async def _serve(url: str, token: str, args: argparse.Namespace, prog: str) -> None:
    options = Options(
        lease_seconds=args.lease_seconds, host=args.host, port=args.port, log_level=args.log_level
    )
    async with AsyncClient(url, token) as client:
        try:
            server = await build_server(client, options)
        except AgentqError as exc:
            raise SystemExit(f"{prog}: {url}: {exc}") from exc
        if args.http:
            await server.run_streamable_http_async()
        else:
            await server.run_stdio_async()


def main(argv: Sequence[str] | None = None, prog: str = "agentq-mcp") -> None:
    args = parser(prog).parse_args(argv)
    url = args.url or os.environ.get("AGENTQ_URL") or DEFAULT_URL
    token = os.environ.get("AGENTQ_TOKEN")
    if not token:
        raise SystemExit(
            f"{prog}: set AGENTQ_TOKEN to an agent token (the agent's tools) or a company "
            "admin token (the admin's tools)"
        )
    # Plain lines on stderr, configured before FastMCP's own (which then leaves them be).
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("mcp.server.streamable_http").addFilter(_closed_stream_noise)
    anyio.run(_serve, url, token, args, prog)
