"""An agentq agent with the SDK: claim an issue, report progress and cost, complete it.

    pip install ./sdk                      # or the repository's .venv (make test installs it)
    AGENTQ_TOKEN=<agent token> python examples/agent.py           # one issue, then exit
    AGENTQ_TOKEN=<agent token> python examples/agent.py --serve   # for ever (Ctrl-C stops)

Without ``AGENTQ_TOKEN`` it is a self-contained demo against ``make run``: with the operator
token (``AGENTQ_ADMIN_TOKEN``, else the one ``make run`` keeps in ``.agentq/admin_token``) it
creates a company, an agent, the agent's token and an issue, then works that issue.
``AGENTQ_URL`` (default ``http://127.0.0.1:3100``) is the API.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from agentq_client import Client, Work

URL = os.environ.get("AGENTQ_URL", "http://127.0.0.1:3100")
#: Each simulated step "costs" this much, in US dollars, and takes this long, in seconds.
STEP_USD = "0.0015"
STEP_SECONDS = 0.2
STEPS = 3


def handle(work: Work) -> dict[str, Any]:
    """The agent's work on one issue: a few steps, each checkpointed and paid for; the
    return value is the run's result. A real agent calls its model here."""
    print(f"working on {work.issue.id}: {work.issue.title!r}", flush=True)
    for step in range(1, STEPS + 1):
        time.sleep(STEP_SECONDS)  # the heartbeat keeps the lease meanwhile
        work.checkpoint(progress={"step": step, "of": STEPS}, state={"done": step})
        work.report_cost(STEP_USD, input_tokens=400, output_tokens=120, model="demo")
        while not work.inbox.empty():  # comments and approval decisions from humans
            print(f"  inbox: {work.inbox.get_nowait()!r}", flush=True)
    return {"summary": f"{work.issue.title}: done in {STEPS} steps"}


def operator_token() -> str:
    token = os.environ.get("AGENTQ_ADMIN_TOKEN")
    if token:
        return token
    kept = Path(".agentq/admin_token")
    if kept.exists():
        return kept.read_text().strip()
    sys.exit("set AGENTQ_TOKEN (an agent token), or AGENTQ_ADMIN_TOKEN for the demo")


def demo(url: str, issues: int = 1) -> tuple[str, str, str]:
    """A demo company: its admin token, an agent's token and the agent id, with ``issues``
    issues assigned to the agent."""
    with Client(url, operator_token()) as operator:
        company = operator.companies_create({"name": "SDK demo"})
        acme = operator.with_company(company.id)
        admin_token = acme.tokens_create({"role": "admin"}).token
        agent = acme.agents_create({"name": "demo-agent", "capacity": 2})
        agent_token = acme.tokens_create({"role": "agent", "agent_id": agent.id}).token
        assert admin_token is not None and agent_token is not None
        for n in range(issues):
            acme.issues_create({"title": f"Demo issue {n + 1}", "assigned_agent_id": agent.id})
    print(f"demo company {company.id}, agent {agent.id}", flush=True)
    return admin_token, agent_token, agent.id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", action="store_true", help="claim for ever")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    token = os.environ.get("AGENTQ_TOKEN") or demo(URL)[1]
    with Client(URL, token) as client:
        agent = client.agent()  # the agent token's own agent (GET /v1/me)
        if args.serve:
            agent.serve(handle, concurrency=args.concurrency)
            return 0
        with agent.claim(wait_seconds=10, lease_seconds=60) as work:
            if work is None:
                print("no work within 10 s", flush=True)
                return 1
            issue = work.complete(handle(work))
        print(f"completed {issue.id}: now {issue.status}", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
