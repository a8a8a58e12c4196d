"""Create a few issues for an agent and watch them finish, accepting each one's result.

    AGENTQ_TOKEN=<admin token> python examples/watch.py --agent agt_…   # while the agent runs
    python examples/watch.py                  # demo against `make run`: a company of its own,
                                              # with examples/agent.py's agent in-process

``AGENTQ_URL`` (default ``http://127.0.0.1:3100``) is the API.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from agent import URL, demo, handle  # examples/agent.py, beside this file
from agentq_client import Client

TERMINAL = {"done", "failed", "cancelled"}
POLL_SECONDS = 0.5


def watch(admin: Client, ids: list[str], timeout_seconds: float) -> bool:
    """Print each status change; accept each result in review; True once all are done."""
    last: dict[str, str] = {}
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        for iid in ids:
            issue = admin.issues_get(iid)
            if last.get(iid) != issue.status:
                last[iid] = issue.status
                print(f"{time.strftime('%H:%M:%S')} {iid} {issue.status}", flush=True)
            if issue.status == "review":
                admin.issues_review(iid, {"decision": "accept", "comment": "looks good"})
        if all(status in TERMINAL for status in last.values()):
            return all(status == "done" for status in last.values())
        time.sleep(POLL_SECONDS)
    print("timed out", flush=True)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agent", help="the agent to assign the issues to")
    parser.add_argument("--issues", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds")
    args = parser.parse_args()
    serving = None
    token = os.environ.get("AGENTQ_TOKEN")
    if token and args.agent:
        agent_id = args.agent
    elif token:
        sys.exit("name the agent that works the issues: --agent agt_…")
    else:
        token, agent_token, agent_id = demo(URL, issues=0)
        worker = Client(URL, agent_token)
        agent = worker.agent()
        serving = threading.Thread(
            target=agent.serve,
            args=(handle,),
            kwargs={"concurrency": 2, "wait_seconds": 1, "handle_signals": False},
            daemon=True,
        )
        serving.start()
    with Client(URL, token) as admin:
        ids = [
            admin.issues_create({"title": f"Watched {n + 1}", "assigned_agent_id": agent_id}).id
            for n in range(args.issues)
        ]
        finished = watch(admin, ids, args.timeout)
    if serving is not None:
        agent.stop()
        serving.join(15)
        worker.close()
    print("all done" if finished else "not all done", flush=True)
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
