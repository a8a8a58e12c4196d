"""Log lines: one JSON object per line, or one readable line in a terminal (``AGENTQ_LOG_FORMAT``:
``auto``, the default, is text when stderr is a terminal and JSON otherwise).

A JSON line always has ``ts``, ``level``, ``logger``, ``msg`` and ``action`` (a stable name
for what happened, e.g. ``http_request``, ``command_applied``; null when the caller gave
none), then the ids given in ``extra`` (``company_id``, ``issue_id``, ``command_id``,
``run_id``, ``bulk_id``, ``webhook_id``), any other ``extra`` fields, and ``exc`` with the
traceback when there is one::

    log.info("…", extra={"action": "command_applied", "command_id": env.command_id, …})
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal

from service.kinds import LOG_FIELDS
from service.settings import Settings

__all__ = ["ID_FIELDS", "JsonFormatter", "TextFormatter", "configure_logging", "log_format_for"]

#: The ids a line carries when given in ``extra``, in this order, after the fixed fields.
ID_FIELDS = LOG_FIELDS

#: Attributes every ``LogRecord`` has: anything else on a record came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", None, None).__dict__,
        "message",
        "asctime",
        "taskName",
        "action",
        *ID_FIELDS,
        "color_message",  # uvicorn's copy of ``msg`` with terminal colours
    }
)

#: Loggers with handlers of their own that should go through the root's instead.
_PROPAGATED = ("uvicorn", "uvicorn.error")

#: Libraries whose INFO lines are chatter: pika logs about ten lines for every connection
#: and channel it opens or closes (most of a distributed run's lines at INFO). Their
#: warnings and errors still show; their INFO lines only at ``AGENTQ_LOG_LEVEL=DEBUG``.
_QUIET = ("pika",)


def _utc_time(record: logging.LogRecord) -> str:
    """``2026-04-11T08:14:00.123Z``: UTC to the millisecond, as the API shows times."""
    when = datetime.fromtimestamp(record.created, UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{int(record.msecs):03d}Z"


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "action": getattr(record, "action", None),
        }
        for key in ID_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        for key, value in _extra(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """One readable line: ``2026-04-11 10:14:00.123 INFO logger message [action=… key=value]``
    (local time; the ids first, then the other ``extra`` fields; a value with spaces or
    quotes in it is quoted, so the line splits back into its fields). A traceback follows
    on the next lines."""

    default_msec_format = "%s.%03d"

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = {"action": getattr(record, "action", None)}
        fields.update({key: getattr(record, key, None) for key in ID_FIELDS})
        fields.update(_extra(record))
        pairs = " ".join(f"{k}={_text_value(v)}" for k, v in fields.items() if v is not None)
        return f"{line} [{pairs}]" if pairs else line


def _text_value(value: Any) -> str:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    if not text or any(c.isspace() or c in "\"'=[]" for c in text) or not text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    return text


def log_format_for(setting: Literal["auto", "json", "text"], stream: IO[str]) -> str:
    """``json`` or ``text``: what ``AGENTQ_LOG_FORMAT`` means for lines written to
    ``stream`` (``auto``: text for a person at a terminal, JSON for a collector)."""
    if setting != "auto":
        return setting
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "json"


class _AgentqHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs (so a second call replaces it)."""


def configure_logging(settings: Settings) -> None:
    """Log every record at ``AGENTQ_LOG_LEVEL`` and above to stderr, one line each, as
    ``AGENTQ_LOG_FORMAT`` says. Replaces the root logger's plain stream handlers (such as
    ``logging.basicConfig``'s) and its own earlier install; other handlers stay (pytest's)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) in (logging.StreamHandler, _AgentqHandler):
            root.removeHandler(handler)
    handler = _AgentqHandler(sys.stderr)
    text = log_format_for(settings.log_format, sys.stderr) == "text"
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    level = root.level
    for name in _QUIET:
        logging.getLogger(name).setLevel(
            logging.INFO if level == logging.DEBUG else max(level, logging.WARNING)
        )
    # uvicorn installs text handlers on its loggers: its lines go through the root's too.
    # (Its access log stays off: the API logs one ``http_request`` line per request.)
    for name in _PROPAGATED:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
