"""The shortest path through the API works on both stacks."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

from tests.e2e.client import Api
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


def _read_answer(sock: socket.socket) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One whole HTTP/1.1 answer, however TCP splits it: the status line, the headers (names
    lower-cased) up to the blank line, then exactly Content-Length bytes of body."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, f"the connection closed before the answer's head ended: {head!r}"
        head += chunk
    head, _, body = head.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    assert b"content-length" in headers, f"no Content-Length to read the body by: {head!r}"
    length = int(headers[b"content-length"])
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        assert chunk, f"the connection closed {length - len(body)} bytes before the body ended"
        body += chunk
    assert len(body) == length, f"more than one answer arrived to one request: {body!r}"
    return status, headers, body


def _get_health(sock: socket.socket) -> tuple[bytes, bytes]:
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: agentq\r\n\r\n")
    status, _, body = _read_answer(sock)
    return status, body


def test_an_idle_keep_alive_connection_still_answers_after_several_seconds(stack: Stack) -> None:
    """A client (or a load balancer) reusing an idle connection is not met by a close."""
    url = urlsplit(stack.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        status, body = _get_health(sock)
        assert status.startswith(b"HTTP/1.1 200"), status
        assert json.loads(body) == {"status": "ok"}
        time.sleep(6)  # idle past uvicorn's default keep-alive of 5 s: the wait is the test
        status, body = _get_health(sock)
        assert status.startswith(b"HTTP/1.1 200"), status
        assert json.loads(body) == {"status": "ok"}
