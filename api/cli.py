"""``agentq``: run any process, migrate, and the operator's everyday calls over HTTP.

Processes (configured by ``AGENTQ_*`` variables, as in the Procfile)::

    agentq serve                  the embedded default: migrate, then API + workers in one process
    agentq web                    the HTTP API alone (distributed mode)
    agentq worker commands|webhooks|bulk
    agentq scheduler
    agentq migrate                the release step, one line per migration applied
    agentq mcp [--http --port N]  the MCP server for a model (the SDK's, agentq_client.mcp;
                                  AGENTQ_URL, AGENTQ_TOKEN: an agent or admin token)

Calls (to ``--url``, default ``$AGENTQ_URL`` or ``http://127.0.0.1:$AGENTQ_PORT``)::

    agentq company create --name Acme                      (operator token)
    agentq token create --company cmp_… --role admin|agent [--agent agt_…]
    agentq issues list --company cmp_… [--status running] [--limit 20]
    agentq issues bulk --company cmp_… --op assign --args '{"agentId": "agt_…"}' --file ids.txt

Calls use ``--token``, else ``$AGENTQ_TOKEN``, else the operator token.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

__all__ = ["main"]

#: How often ``issues bulk`` looks at its job, in seconds.
BULK_POLL_S = 0.5


def _serve(_: argparse.Namespace) -> None:
    from api.__main__ import main as serve_api
    from service.migrate import upgrade
    from service.settings import get_settings

    if not get_settings().distributed:
        upgrade()
    serve_api()


def _web(_: argparse.Namespace) -> None:
    from api.__main__ import main as serve_api

    serve_api()


def _worker(args: argparse.Namespace) -> None:
    from workers.__main__ import run_pool

    run_pool(args.pool)


def _scheduler(_: argparse.Namespace) -> None:
    from workers.__main__ import run_pool

    run_pool("scheduler")


def _migrate(_: argparse.Namespace) -> None:
    from service.migrate import upgrade

    upgrade(progress=lambda step: print(f"agentq: migrating {step}", flush=True))
    print("agentq: database is at the latest migration", flush=True)


def _mcp(args: argparse.Namespace) -> None:
    # The MCP server is the SDK's (an agent machine needs only `pip install './sdk[mcp]'`,
    # whose `agentq-mcp` is the same); the server's own install may lack it.
    try:
        from agentq_client.mcp import main as serve_mcp
    except ImportError as exc:
        raise SystemExit(
            f"agentq mcp: needs the SDK with its mcp extra: pip install './sdk[mcp]' ({exc})"
        ) from exc
    serve_mcp(args.mcp_options, prog="agentq mcp")


class Client:
    """The operator's or a company token's HTTP calls; problems are printed, exit code 1."""

    def __init__(self, args: argparse.Namespace) -> None:
        from service.settings import get_settings

        settings = get_settings()
        url = args.url or os.environ.get("AGENTQ_URL") or f"http://127.0.0.1:{settings.port}"
        token = args.token or os.environ.get("AGENTQ_TOKEN") or _operator_token(settings)
        self.http = httpx.Client(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        try:
            response = self.http.request(method, path, json=body, **kw)
        except httpx.HTTPError as exc:
            raise SystemExit(f"agentq: cannot reach {self.http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise SystemExit(f"agentq: {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None


def _operator_token(settings: Any) -> str:
    """``AGENTQ_ADMIN_TOKEN``, or the one ``make run`` keeps in the data folder; never a new
    one (a client minting a token file would only be refused by the server it calls)."""
    if settings.admin_token:
        return str(settings.admin_token)
    kept = settings.data_dir / "admin_token"
    if kept.exists():
        return str(kept.read_text().strip())
    raise SystemExit(
        "agentq: no token: pass --token, or set AGENTQ_TOKEN (a company token) or "
        f"AGENTQ_ADMIN_TOKEN (the operator token; `make run` keeps it in {kept})"
    )


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _company_create(args: argparse.Namespace) -> None:
    _print(Client(args).call("POST", "/v1/companies", {"name": args.name}))


def _token_create(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"role": args.role}
    if args.agent:
        body["agentId"] = args.agent
    _print(Client(args).call("POST", f"/v1/companies/{args.company}/tokens", body))


#: ``agentq issues list`` options: the list's query parameters.
ISSUE_FILTERS = {
    "status": "comma-separated statuses",
    "agent": "assigned to this agent",
    "team": "assigned to this team",
    "label": "has this label",
    "parent": "null: top-level issues only; an issue id: its children",
    "cursor": "the next page (as the previous page printed)",
}


def _issues_list(args: argparse.Namespace) -> None:
    params: dict[str, Any] = {"limit": args.limit}
    for name in ISSUE_FILTERS:
        if getattr(args, name):
            params[name] = getattr(args, name)
    page = Client(args).call("GET", f"/v1/companies/{args.company}/issues", params=params)
    for issue in page["data"]:
        agent = issue["assignedAgentId"] or issue["assignedTeamId"] or "-"
        print(f"{issue['id']}  {issue['status']:9}  {agent:30}  {issue['title']}")
    if page["hasMore"]:
        print(f"… more: --cursor {page['nextCursor']}", file=sys.stderr)


def _issues_bulk(args: argparse.Namespace) -> None:
    """Start a bulk from a file of ids (one per line) and show its progress until done."""
    with open(args.file, encoding="utf-8") as handle:
        ids = [line.strip() for line in handle if line.strip()]
    client = Client(args)
    prefix = f"/v1/companies/{args.company}"
    body = {"ids": ids, "op": args.op, "args": json.loads(args.args)}
    job = client.call("POST", f"{prefix}/issues/bulk", body, headers={"Prefer": "respond-async"})
    while job["status"] != "done":
        done = job.get("succeeded", 0) + job.get("failed", 0)
        print(f"\ragentq: bulk {job['id']}: {done}/{job['total']}", end="", file=sys.stderr)
        time.sleep(BULK_POLL_S)
        job = client.call("GET", f"{prefix}/bulk/{job['id']}")
    print(
        f"\ragentq: bulk {job['id']}: {job['total']}/{job['total']}, "
        f"{job['succeeded']} succeeded, {job['failed']} failed",
        file=sys.stderr,
    )
    _print(job)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentq", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run: Callable[[argparse.Namespace], None], **kw: Any) -> Any:
        p = sub.add_parser(name, **kw)
        p.set_defaults(run=run)
        return p

    command("serve", _serve, help="the embedded default: API, workers and scheduler in one")
    command("web", _web, help="the HTTP API")
    worker = command("worker", _worker, help="a worker pool")
    worker.add_argument("pool", choices=["commands", "webhooks", "bulk"])
    command("scheduler", _scheduler, help="lease expiry, dispatch and webhook retries")
    command("migrate", _migrate, help="apply the database migrations")
    # Its options are the SDK's parser's (`agentq mcp --help`): passed through as they are.
    command("mcp", _mcp, add_help=False, help="the MCP server (stdio, or --http --port N)")

    def calls(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", help="the API (default $AGENTQ_URL or 127.0.0.1:$AGENTQ_PORT)")
        p.add_argument("--token", help="default $AGENTQ_TOKEN, else the operator token")

    company = sub.add_parser("company").add_subparsers(dest="what", required=True)
    p = company.add_parser("create")
    p.set_defaults(run=_company_create)
    p.add_argument("--name", required=True)
    calls(p)

    token = sub.add_parser("token").add_subparsers(dest="what", required=True)
    p = token.add_parser("create")
    p.set_defaults(run=_token_create)
    p.add_argument("--company", required=True)
    p.add_argument("--role", choices=["admin", "agent"], required=True)
    p.add_argument("--agent", help="the agent an agent token acts for")
    calls(p)

    issues = sub.add_parser("issues").add_subparsers(dest="what", required=True)
    p = issues.add_parser("list")
    p.set_defaults(run=_issues_list)
    p.add_argument("--company", required=True)
    for name, what in ISSUE_FILTERS.items():
        p.add_argument(f"--{name}", help=what)
    p.add_argument("--limit", type=int, default=50)
    calls(p)
    p = issues.add_parser("bulk", help="a bulk operation over ids read from a file")
    p.set_defaults(run=_issues_bulk)
    p.add_argument("--company", required=True)
    p.add_argument("--op", choices=["assign", "cancel", "reassign"], required=True)
    p.add_argument("--args", default="{}", help='the op\'s args as JSON, e.g. {"agentId": "…"}')
    p.add_argument("--file", required=True, help="issue ids, one per line")
    calls(p)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "mcp":
        args.mcp_options = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.run(args)


if __name__ == "__main__":
    main()
