"""The shortest path through the API works on both stacks."""

from __future__ import annotations

import json
import socket
import time

from tests.e2e.client import Api
from tests.e2e.raw_http import Answer, connect, read_answer
from tests.procs import Stack


def test_a_new_company_can_create_assign_and_cancel_an_issue(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    issue = acme.issue(labels=["priority:high"])
    assert issue["status"] == "queued"
    assigned = acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": agent["id"]})
    assert assigned["status"] == "assigned"
    assert assigned["version"] == 2
    cancelled = acme.ok("POST", f"/issues/{issue['id']}/cancel", {"reason": "no longer needed"})
    assert cancelled["status"] == "cancelled"


def _get_health(sock: socket.socket) -> Answer:
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: agentq\r\n\r\n")
    return read_answer(sock)


def test_an_idle_keep_alive_connection_still_answers_after_several_seconds(stack: Stack) -> None:
    """A client (or a load balancer) reusing an idle connection is not met by a close."""
    with connect(stack) as sock:
        answer = _get_health(sock)
        assert answer.status == 200, answer
        assert json.loads(answer.body) == {"status": "ok"}
        time.sleep(6)  # idle past uvicorn's default keep-alive of 5 s: the wait is the test
        answer = _get_health(sock)
        assert answer.status == 200, answer
        assert json.loads(answer.body) == {"status": "ok"}
