"""Log lines: the JSON formatter, the text formatter, ``configure_logging``, and the API's one
``http_request`` line per request (a tiny in-process app: no services, no network)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, Request, get
from litestar.testing import TestClient

from api.app import RequestLog
from domain import commands as c
from service.commands.envelope import Envelope, Outcome
from service.commands.refusals import log_ids
from service.observability.logs import JsonFormatter, TextFormatter, configure_logging
from service.settings import Settings

IDS = {
    "company_id": "cmp_1",
    "issue_id": "iss_1",
    "command_id": "cmd_1",
    "run_id": "run_1",
    "bulk_id": "blk_1",
    "webhook_id": "whk_1",
}


def _record(msg: str = "hello %s", args: Any = ("world",), **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("agentq.test", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_a_record_with_ids_is_one_json_line_with_them_and_its_action() -> None:
    line = JsonFormatter().format(
        _record(action="command_applied", type="AssignIssue", http_status=200, **IDS)
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry == {
        "ts": entry["ts"],
        "level": "INFO",
        "logger": "agentq.test",
        "msg": "hello world",
        "action": "command_applied",
        **IDS,
        "type": "AssignIssue",
        "http_status": 200,
    }
    assert list(entry)[:5] == ["ts", "level", "logger", "msg", "action"]
    assert entry["ts"].endswith("Z") and len(entry["ts"]) == len("2026-04-11T08:14:00.123Z")


def test_the_action_key_is_always_there_and_absent_ids_are_left_out() -> None:
    entry = json.loads(JsonFormatter().format(_record(company_id="cmp_1", issue_id=None)))
    assert entry["action"] is None
    assert entry["company_id"] == "cmp_1"
    assert "issue_id" not in entry and "run_id" not in entry


def test_an_exception_stays_on_the_line() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = _record(action="command_failed", command_id="cmd_1")
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["action"] == "command_failed"
    assert "ValueError: boom" in entry["exc"] and "Traceback" in entry["exc"]


def test_uvicorns_coloured_copy_of_the_message_is_left_out() -> None:
    entry = json.loads(JsonFormatter().format(_record(color_message="\x1b[36mhello\x1b[0m")))
    assert "color_message" not in entry and entry["msg"] == "hello world"


def test_values_json_cannot_hold_are_written_as_text() -> None:
    entry = json.loads(JsonFormatter().format(_record(action="x", odd={1, 2}.__class__)))
    assert entry["odd"] == "<class 'set'>"


def test_the_text_format_names_the_action_and_ids() -> None:
    line = TextFormatter().format(_record(action="sweep", company_id="cmp_1"))
    assert line.endswith("INFO agentq.test hello world [action=sweep company_id=cmp_1]")


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """``configure_logging`` changes process-wide state: put it back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    uvicorn = logging.getLogger("uvicorn")
    saved_uvicorn = (list(uvicorn.handlers), uvicorn.propagate)
    try:
        yield root
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        uvicorn.handlers[:], uvicorn.propagate = saved_uvicorn


def test_configure_logging_installs_one_handler_at_the_level(root_logging: logging.Logger) -> None:
    plain = logging.StreamHandler(sys.stderr)  # as logging.basicConfig would have installed
    root_logging.addHandler(plain)
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(logging.StreamHandler(sys.stderr))
    uvicorn.propagate = False
    others = [h for h in root_logging.handlers if type(h) is not logging.StreamHandler]

    configure_logging(Settings(log_level="warning", log_format="json"))
    configure_logging(Settings(log_level="warning", log_format="json"))  # replaces, never adds

    ours = [h for h in root_logging.handlers if h not in others]
    assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
    assert plain not in root_logging.handlers
    assert all(h in root_logging.handlers for h in others)  # pytest's capture stays
    assert root_logging.level == logging.WARNING
    assert uvicorn.handlers == [] and uvicorn.propagate  # uvicorn's lines go through ours

    configure_logging(Settings(log_format="text"))
    ours = [h for h in root_logging.handlers if h not in others]
    assert len(ours) == 1 and isinstance(ours[0].formatter, TextFormatter)
    assert root_logging.level == logging.INFO


# --- the API's request line ------------------------------------------------------------------


@get("/v1/companies/{cid:str}/issues/{iid:str}")
async def _issue(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {"id": request.path_params["iid"]}


@get("/boom")
async def _boom() -> None:
    raise RuntimeError("boom")


def _client() -> TestClient[Litestar]:
    app = Litestar([_issue, _boom], logging_config=None)
    app.asgi_handler = RequestLog(app.asgi_handler)
    return TestClient(app, raise_server_exceptions=False)


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(r))
        for r in caplog.records
        if r.name == "agentq.http" and getattr(r, "action", None) == "http_request"
    ]


def test_each_request_is_one_line_with_route_status_duration_and_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agentq.http")
    with _client() as client:
        assert client.get("/v1/companies/cmp_7/issues/iss_9").status_code == 200
        assert client.get("/nowhere/iss_1").status_code == 404
    found, unknown = _request_lines(caplog)
    assert found["method"] == "GET"
    assert found["route"] == "/v1/companies/{cid}/issues/{iid}"
    assert found["path"] == "/v1/companies/cmp_7/issues/iss_9"
    assert found["status"] == 200
    assert found["company_id"] == "cmp_7" and found["issue_id"] == "iss_9"
    assert isinstance(found["duration_ms"], float) and found["duration_ms"] >= 0
    assert found["level"] == "INFO"
    # An unknown route is logged too, without a route template.
    assert unknown["status"] == 404 and unknown["route"] is None
    assert unknown["path"] == "/nowhere/iss_1"


def test_a_request_that_raises_is_logged_with_its_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agentq.http")
    with _client() as client:
        assert client.get("/boom").status_code == 500
    (line,) = _request_lines(caplog)
    assert line["status"] == 500 and line["route"] == "/boom"


def test_no_request_lines_below_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="agentq.http")
    with _client() as client:
        assert client.get("/v1/companies/cmp_7/issues/iss_9").status_code == 200
    assert _request_lines(caplog) == []


# --- the ids of a command's line -------------------------------------------------------------


def test_a_commands_line_names_its_issue_run_and_company() -> None:
    env = Envelope("cmd_1", "cmp_1", "agent:agt_1", c.RecordCheckpoint("iss_1", "run_1", "tok"))
    assert log_ids(env) == {
        "command_id": "cmd_1",
        "company_id": "cmp_1",
        "issue_id": "iss_1",
        "run_id": "run_1",
    }


def test_a_claims_line_names_the_issue_it_took() -> None:
    env = Envelope("cmd_2", "cmp_1", "agent:agt_1", c.ClaimWork("agt_1", "run_2"))
    taken = Outcome("cmd_2", True, 200, {"issue": {"id": "iss_5"}, "run": {"id": "run_2"}})
    assert log_ids(env, taken) == {
        "command_id": "cmd_2",
        "company_id": "cmp_1",
        "agent_id": "agt_1",
        "run_id": "run_2",
        "issue_id": "iss_5",
    }
    nothing = Outcome("cmd_2", True, 204, None)
    assert "issue_id" not in log_ids(env, nothing)
