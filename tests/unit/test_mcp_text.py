"""The MCP server's parts that need no server: it stays a client (imports nothing of the
server), and what it tells a model reads plainly (money, the stop notice)."""

from __future__ import annotations

import ast
import sys
from decimal import Decimal

from agentq_client.mcp._text import money, stop_notice

from api.sdk_models import PACKAGE


def test_the_mcp_server_imports_only_the_sdk_and_the_mcp_package() -> None:
    allowed = {"agentq_client", "mcp", "anyio", "pydantic"}
    for path in (PACKAGE / "mcp").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, f"{path.name}: {name}"


def test_money_reads_as_people_write_it_and_keeps_every_place() -> None:
    assert [money(Decimal(v)) for v in ("2.5", "2", "0.0042", "1.000001")] == [
        "$2.50",
        "$2.00",
        "$0.0042",
        "$1.000001",
    ]
    assert money(None) == "$0.00"


def test_the_stop_notice_says_the_run_is_over_why_and_what_next() -> None:
    notice = stop_notice("iss_1", "reassigned")
    assert notice.startswith("THE RUN IS OVER (reassigned: the issue was reassigned")
    assert "Stop working on issue iss_1" in notice and "claim_next_issue" in notice
    assert "(some_new_reason: some new reason)" in stop_notice("iss_1", "some_new_reason")
