"""How the API answers a database error, a client that went away, and a value that cannot be
stored (issue #13): 503 only for a database that cannot serve anyone."""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from psycopg import errors
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.body import body_errors, unstorable
from api.errors import database_error, server_error
from api.io import CLIENT_GONE
from api.schemas import AgentPatch, IssueCreate, IssuePatch
from api.server import TIMED_OUT


def _request(**state: Any) -> Any:
    return SimpleNamespace(scope={"state": state})


def _status(response: Any) -> tuple[int, str | None]:
    body = response.content
    return response.status_code, body.get("code") if isinstance(body, dict) else None


def test_a_value_the_database_refused_is_the_requests_fault_not_an_outage() -> None:
    nul = psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    for orig in [errors.InvalidTextRepresentation(), errors.NumericValueOutOfRange(), nul]:
        response = database_error(_request(), DataError("SELECT", {}, orig))
        assert _status(response) == (422, "invalid_request")


def test_only_a_database_that_cannot_serve_anyone_is_503() -> None:
    unavailable = [
        OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused")),
        OperationalError("SELECT 1", {}, errors.AdminShutdown()),
        OperationalError("SELECT 1", {}, errors.TooManyConnections()),
        OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")),
        PoolTimeout("QueuePool limit reached"),
    ]
    for error in unavailable:
        response = database_error(_request(), error)
        assert _status(response) == (503, "unavailable"), error
        assert response.headers["Retry-After"] == "1"


def test_any_other_failed_statement_is_a_bug_answered_500() -> None:
    for error in [
        ProgrammingError("SELECT nope", {}, errors.UndefinedColumn()),
        IntegrityError("INSERT", {}, errors.UniqueViolation()),
        OperationalError("SELECT 1", {}, errors.QueryCanceled()),
        OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x")),
    ]:
        assert _status(database_error(_request(), error)) == (500, "internal_error"), error


def test_a_client_that_went_away_is_recorded_as_499_and_a_timed_out_body_as_408() -> None:
    gone = server_error(_request(**{CLIENT_GONE: True}), RuntimeError("disconnected"))
    assert gone.status_code == 499
    timed_out = server_error(
        _request(**{CLIENT_GONE: True, TIMED_OUT: True}), RuntimeError("disconnected")
    )
    assert _status(timed_out) == (408, "request_timeout")
    assert _status(server_error(_request(), RuntimeError("a bug"))) == (500, "internal_error")


def test_unstorable_finds_the_first_value_that_cannot_be_stored_and_names_where() -> None:
    assert unstorable({"a": [1, "ok", {"b": 2.5}], "": None, "emoji": "\U0001f600"}) is None
    cases: list[tuple[str, list[Any]]] = [
        ('{"a": {"b": "\\ud800"}}', ["a", "b"]),
        ('{"a": ["x", "\\udfff"]}', ["a", 1]),
        ('{"a": "\\ud83d\\ude00", "b": "\\ude00\\ud83d"}', ["b"]),  # a pair, then reversed
        ('{"a": "x\\u0000"}', ["a"]),
        ('{"a": {"\\u0000": 1}}', ["a", "\x00"]),
        ('{"a": {"k\\udc00": 1}}', ["a", "k\\udc00"]),  # the key shown with its escape
        ('{"a": [NaN]}', ["a", 0]),
        ('{"a": -Infinity}', ["a"]),
        ('{"a": 1e309}', ["a"]),
    ]
    for text, loc in cases:
        found = unstorable(json.loads(text))
        assert found is not None and list(found[0]) == loc, (text, found)
    json.dumps(unstorable(json.loads('{"\\udc00": 1}')), ensure_ascii=False).encode()


def test_unstorable_allows_32_levels_of_nesting_and_no_more() -> None:
    def nested(levels: int) -> Any:
        value: Any = 1
        for _ in range(levels):
            value = [value]
        return value

    assert unstorable(nested(32)) is None
    found = unstorable(nested(33))
    assert found is not None and "32 levels" in found[1]
    assert len(found[0]) == 32


def test_a_refusal_locates_each_error_in_the_body_as_sent_without_union_branch_names() -> None:
    cases: list[tuple[type[BaseModel], dict[str, Any], list[tuple[str | int, ...]]]] = [
        (IssuePatch, {"budget": {"perTaskUsd": "1e2"}}, [("budget", "perTaskUsd")]),
        (IssuePatch, {"title": 5, "labels": [""]}, [("title",), ("labels", 0)]),
        (IssuePatch, {"budget": {"perTaskUsd": 1, "x": 2}}, [("budget", "x")]),
        (AgentPatch, {"capacity": "x", "status": "nope"}, [("capacity",), ("status",)]),
        (IssueCreate, {}, [("title",)]),  # a missing field is named all the same
    ]
    for model, body, locs in cases:
        with pytest.raises(ValidationError) as caught:
            model.model_validate(body)
        assert [e.loc for e in body_errors(caught.value, body)] == locs, (model, body)
