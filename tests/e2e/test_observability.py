"""Observability over HTTP: ``/metrics`` on both stacks, and the API's JSON log lines."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.observability.queue_depths import QueueDepths, RabbitQueueReader
from tests.e2e.client import Api, Company
from tests.procs import Stack, start_embedded

ISSUE_ROUTE = "/v1/companies/{cid}/issues/{iid}"


class Scrape:
    """``GET /metrics`` of the API (or of ``urls``), parsed: a sample's value by name and
    labels, summed over the processes scraped."""

    def __init__(self, api: Api, urls: list[str] | None = None) -> None:
        self.text = ""
        self.samples = []
        for url in urls or [api.base_url + "/metrics"]:
            response = httpx.get(url, timeout=10)
            assert response.status_code == 200, response.text
            media = response.headers["content-type"]
            assert media.startswith("text/plain; version="), media
            self.text += response.text
            self.samples += [
                sample
                for family in text_string_to_metric_families(response.text)
                for sample in family.samples
            ]

    def all(self, name: str, **labels: str) -> list[Any]:
        return [
            s
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value (summed over processes); 0 when it has not been recorded yet."""
        return sum(float(s.value) for s in self.all(name, **labels))


def test_metrics_has_request_latency_by_route_template(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    acme.ok("GET", f"/issues/{issue['id']}")
    scrape = Scrape(api)
    labels = {"method": "GET", "path": ISSUE_ROUTE, "status_code": "200"}
    assert scrape.value("agentq_request_duration_seconds_count", **labels) >= 1
    assert scrape.value("agentq_request_duration_seconds_bucket", le="+Inf", **labels) >= 1
    assert scrape.value("agentq_requests_total", **labels) >= 1
    # Labelled by template only: no id makes a series of its own.
    assert acme.id not in scrape.text and issue["id"] not in scrape.text


def test_a_patch_counts_as_an_accepted_command_and_its_wait_is_measured(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    before = Scrape(api)
    acme.ok("PATCH", f"/issues/{issue['id']}", {"title": "edited"})
    answered = Scrape(api)
    accepted = "agentq_commands_accepted_total"
    assert (
        answered.value(accepted, type="UpdateIssue")
        == before.value(accepted, type="UpdateIssue") + 1
    )
    wait = "agentq_command_wait_seconds_count"
    assert answered.value(wait, answer="outcome") >= before.value(wait, answer="outcome") + 1
    assert answered.value("agentq_command_wait_seconds_bucket", answer="outcome", le="+Inf") >= 1

    # A 202 is a wait too (publication to the 202).
    response = acme.call(
        "PATCH",
        f"/issues/{issue['id']}",
        {"title": "edited again"},
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 202, response.text
    later = Scrape(api)
    assert later.value(wait, answer="accepted") == answered.value(wait, answer="accepted") + 1
    assert (
        later.value(accepted, type="UpdateIssue")
        == answered.value(accepted, type="UpdateIssue") + 1
    )


def test_metrics_reports_queue_depths_by_pool(api: Api, stack: Stack) -> None:
    scrape = Scrape(api)
    count = int(stack.env.get("AGENTQ_COMMAND_SHARDS", "8"))
    queues = sorted(f"commands.{i}" for i in range(count))
    shards = scrape.all("agentq_queue_messages", pool="commands")
    assert sorted(s.labels["queue"] for s in shards) == queues
    assert all(s.value >= 0 for s in shards)
    for pool in ("webhooks", "bulk"):
        assert scrape.all("agentq_queue_messages", pool=pool, queue=pool), pool
    dead = scrape.all("agentq_queue_dead_letters", pool="commands")
    assert sorted(s.labels["queue"] for s in dead) == queues
    if stack.kind == "distributed":
        # RabbitMQ's own counts, consumers included: the commands worker is attached.
        consumers = scrape.all("agentq_queue_consumers", pool="commands")
        assert sorted(s.labels["queue"] for s in consumers) == queues
        assert sum(s.value for s in consumers) >= 1, consumers


def _claim_and_checkpoint(acme: Company) -> None:
    agent = acme.agent()
    token = acme.agent_token(agent["id"])
    acme.issue(assignedAgentId=agent["id"])
    claimed = acme.ok("POST", f"/agents/{agent['id']}/claim", {"leaseSeconds": 60}, token=token)
    acme.ok(
        "POST",
        f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}/checkpoint",
        {"leaseToken": claimed["lease"]["token"]},
        token=token,
    )


def _worker_metrics(stack: Stack) -> list[str] | None:
    """Where the workers' metrics are: the API's ``/metrics`` in the embedded stack, each
    commands worker's and the scheduler's own port in the distributed one."""
    ports = [p.metrics_port for p in stack.processes if p.metrics_port is not None]
    return [f"http://127.0.0.1:{port}/metrics" for port in ports] or None


def test_worker_metrics_count_leases_commands_and_sweeps(api: Api, stack: Stack) -> None:
    if stack.kind == "distributed":
        assert _worker_metrics(stack), "the distributed stack's workers serve no metrics"
    acme = api.new_company()
    before = Scrape(api, _worker_metrics(stack))
    _claim_and_checkpoint(acme)
    after = Scrape(api, _worker_metrics(stack))

    def grew(name: str, by: int = 1, **labels: str) -> bool:
        return after.value(name, **labels) == before.value(name, **labels) + by

    assert grew("agentq_leases_granted_total")
    assert grew("agentq_leases_renewed_total")
    assert grew("agentq_commands_applied_total", type="ClaimWork")
    assert grew("agentq_commands_applied_total", type="RecordCheckpoint")
    assert grew("agentq_command_apply_seconds_count", type="RecordCheckpoint")
    assert after.value("agentq_sweep_duration_seconds_count") >= 1  # it sweeps every second


def test_queue_depths_skip_a_broker_that_is_down() -> None:
    """RabbitMQ down: no depth samples, no error, and no wait beyond the connect timeout."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once closed
    reader = RabbitQueueReader(
        f"amqp://guest:guest@127.0.0.1:{port}/%2F", {"commands.0": "commands"}
    )
    collector = QueueDepths()
    collector.reader = reader
    started = time.monotonic()
    families = list(collector.collect())
    assert time.monotonic() - started < 3
    assert [f.name for f in families] == [
        "agentq_queue_messages",
        "agentq_queue_dead_letters",
        "agentq_queue_consumers",
    ]
    assert all(f.samples == [] for f in families)
    assert reader() == []  # and it does not try again at once


# --- the API's JSON log lines ----------------------------------------------------------------


@pytest.fixture(scope="module")
def info_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An embedded API logging at INFO (the shared stacks log at WARNING only)."""
    log_dir: Path = tmp_path_factory.mktemp("info-logs")
    running = start_embedded(log_dir, {"AGENTQ_LOG_LEVEL": "INFO", "AGENTQ_LOG_FORMAT": "json"})
    try:
        yield running
    finally:
        running.stop()


def _json_lines(path: Path) -> list[dict[str, Any]]:
    """Every whole line of the log (the last one may still be being written: skipped)."""
    lines = []
    text = path.read_text(errors="replace")
    for line in text[: text.rfind("\n") + 1].splitlines():
        if line.startswith("{"):
            entry = json.loads(line)  # every JSON-looking line is one whole JSON object
            assert {"ts", "level", "logger", "msg", "action"} <= entry.keys(), entry
            lines.append(entry)
    return lines


def _wait_for_line(path: Path, match: dict[str, Any], timeout_s: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        for entry in _json_lines(path):
            if all(entry.get(k) == v for k, v in match.items()):
                return entry
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line with {match} in {path}")
        time.sleep(0.1)


def test_each_request_and_command_is_one_json_log_line(info_stack: Stack) -> None:
    web_log = info_stack.processes[0].log
    with Api(info_stack.base_url, info_stack.admin_token) as api:
        acme = api.new_company()
        issue = acme.issue()
        response = acme.call("PATCH", f"/issues/{issue['id']}", {"title": "edited"})
        assert response.status_code == 200, response.text
        assert httpx.get(info_stack.base_url + "/nowhere").status_code == 404

    request = _wait_for_line(
        web_log, {"action": "http_request", "method": "PATCH", "issue_id": issue["id"]}
    )
    assert request["route"] == ISSUE_ROUTE
    assert request["status"] == 200
    assert request["company_id"] == acme.id
    assert request["command"] == "UpdateIssue"
    assert isinstance(request["duration_ms"], int | float)
    assert request["level"] == "INFO" and request["logger"] == "agentq.http"

    command = _wait_for_line(
        web_log, {"action": "command_applied", "command_id": request["command_id"]}
    )
    assert command["company_id"] == acme.id and command["issue_id"] == issue["id"]
    assert command["type"] == "UpdateIssue" and command["http_status"] == 200
    assert isinstance(command["duration_ms"], int | float)

    unknown = _wait_for_line(web_log, {"action": "http_request", "path": "/nowhere"})
    assert unknown["status"] == 404 and unknown["route"] is None


def test_every_answer_names_its_request_id_and_the_log_line_carries_it(info_stack: Stack) -> None:
    web_log = info_stack.processes[0].log
    with Api(info_stack.base_url, info_stack.admin_token) as api:
        mine = api.http.get("/health", headers={"X-Request-Id": "client-chosen-42"})
        assert mine.headers["x-request-id"] == "client-chosen-42"
        made = api.http.get("/health").headers["x-request-id"]
        odd = api.http.get("/health", headers={"X-Request-Id": "has space"})
        assert made.startswith("req_") and odd.headers["x-request-id"].startswith("req_")
        missing = api.http.get("/nowhere", headers={"X-Request-Id": "lost-1"})
        assert missing.status_code == 404 and missing.headers["x-request-id"] == "lost-1"
    line = _wait_for_line(web_log, {"action": "http_request", "request_id": "client-chosen-42"})
    assert line["path"] == "/health" and line["status"] == 200
    assert (
        _wait_for_line(web_log, {"action": "http_request", "request_id": made})["path"] == "/health"
    )


def test_no_token_ever_appears_in_the_logs(info_stack: Stack) -> None:
    web_log = info_stack.processes[0].log
    wrong = "aq_wrong_token_never_issued_0123456789"
    with Api(info_stack.base_url, info_stack.admin_token) as api:
        acme = api.new_company()
        agent = acme.agent("logged")
        agent_token = acme.agent_token(agent["id"])
        made = acme.ok("POST", "/tokens", {"role": "admin"}, status=201)
        acme.issue(assignedAgentId=agent["id"])
        acme.ok("POST", f"/agents/{agent['id']}/claim", {"leaseSeconds": 60}, token=agent_token)
        assert acme.call("GET", "/issues", token=wrong).status_code == 401
        assert acme.call("GET", "/issues", token=made["token"]).status_code == 200
    _wait_for_line(web_log, {"action": "http_request", "status": 401})
    _wait_for_line(web_log, {"action": "http_request", "company_id": acme.id, "method": "GET"})
    text = web_log.read_text(errors="replace")
    for secret in (info_stack.admin_token, acme.token, agent_token, made["token"], wrong):
        assert secret not in text
