"""``AGENTQ_LOG_FORMAT`` (``auto``: text on a terminal, else JSON), the text line, and the
libraries kept quiet at INFO."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from service.observability.logs import (
    JsonFormatter,
    TextFormatter,
    configure_logging,
    log_format_for,
)
from service.settings import Settings


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _record(msg: str = "hello %s", args: Any = ("world",), **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("agentq.test", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_auto_is_text_on_a_terminal_and_json_otherwise() -> None:
    assert log_format_for("auto", _Terminal()) == "text"
    assert log_format_for("auto", io.StringIO()) == "json"  # a file, a pipe, a collector
    closed = io.StringIO()
    closed.close()
    assert log_format_for("auto", closed) == "json"


def test_json_and_text_are_what_they_say_wherever_the_lines_go() -> None:
    assert log_format_for("json", _Terminal()) == "json"
    assert log_format_for("text", io.StringIO()) == "text"


def test_the_default_is_auto_and_the_variable_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().log_format == "auto"
    monkeypatch.setenv("AGENTQ_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
    monkeypatch.setenv("AGENTQ_LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="log_format"):
        Settings()


def test_a_text_line_has_time_level_logger_message_then_the_fields() -> None:
    line = TextFormatter().format(
        _record(action="command_applied", command_id="cmd_1", company_id="cmp_1", took_ms=12.5)
    )
    day, time, rest = line.split(" ", 2)
    assert len(day) == len("2026-04-11") and len(time) == len("08:14:00.123")
    # The ids come first, in their fixed order, then the other fields.
    assert rest == (
        "INFO agentq.test hello world "
        "[action=command_applied company_id=cmp_1 command_id=cmd_1 took_ms=12.5]"
    )


def test_a_text_value_that_would_blur_the_fields_is_quoted() -> None:
    line = TextFormatter().format(
        _record(reason="lease expired", note="a=b", empty="", lines="one\ntwo", body={"k": [1, 2]})
    )
    assert "\n" not in line
    assert line.endswith(
        '[reason="lease expired" note="a=b" empty="" lines="one\\ntwo" body={"k":[1,2]}]'
    )


def test_a_text_line_without_fields_has_no_brackets_and_a_traceback_follows_it() -> None:
    assert TextFormatter().format(_record()).endswith("INFO agentq.test hello world")
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record(action="command_failed")
        record.exc_info = sys.exc_info()
    first, *rest = TextFormatter().format(record).splitlines()
    assert first.endswith("hello world [action=command_failed]")
    assert rest[0].startswith("Traceback") and rest[-1] == "ValueError: boom"


@pytest.fixture
def logging_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    """``configure_logging`` changes process-wide state: put it back afterwards."""
    root, pika = logging.getLogger(), logging.getLogger("pika")
    saved = (list(root.handlers), root.level, pika.level)
    uvicorn = logging.getLogger("uvicorn")
    saved_uvicorn = (list(uvicorn.handlers), uvicorn.propagate)
    try:
        yield root
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        pika.setLevel(saved[2])
        uvicorn.handlers[:], uvicorn.propagate = saved_uvicorn


def _formatter(root: logging.Logger) -> logging.Formatter | None:
    (ours,) = [h for h in root.handlers if type(h).__name__ == "_AgentqHandler"]
    return ours.formatter


def test_configure_logging_writes_text_to_a_terminal_and_json_to_anything_else(
    logging_state: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal())
    configure_logging(Settings(log_format="auto"))
    assert isinstance(_formatter(logging_state), TextFormatter)
    configure_logging(Settings(log_format="json"))
    assert isinstance(_formatter(logging_state), JsonFormatter)

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    configure_logging(Settings(log_format="auto"))
    assert isinstance(_formatter(logging_state), JsonFormatter)
    logging.getLogger("agentq.test").warning("hi", extra={"action": "x"})
    entry = json.loads(sys.stderr.getvalue())
    assert entry["msg"] == "hi" and entry["action"] == "x"


@pytest.mark.parametrize(
    ("level", "pika_level"),
    [("INFO", "WARNING"), ("WARNING", "WARNING"), ("ERROR", "ERROR"), ("DEBUG", "INFO")],
)
def test_pika_says_only_warnings_and_errors_unless_debugging(
    logging_state: logging.Logger, level: str, pika_level: str
) -> None:
    configure_logging(Settings(log_level=level, log_format="json"))
    assert logging_state.level == logging.getLevelName(level)
    pika = logging.getLogger("pika.adapters.blocking_connection")
    assert pika.getEffectiveLevel() == logging.getLevelName(pika_level)
