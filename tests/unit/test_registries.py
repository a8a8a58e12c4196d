"""Each list of things is derived from the things: the commands from the command classes,
their handlers from the handlers, the webhook event types from the event classes."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, get_type_hints

from domain import commands
from domain.audit import AuditSubject, AuditType
from domain.commands import COMMANDS, Command
from domain.events import ACTIVITY_TYPES, ISSUE_ACTIVITY_TYPES, IssueEvent
from service.commands.envelope import Envelope, decode, encode
from service.commands.pipeline import HANDLERS
from service.webhooks.outbox import EVENT_TYPES


def _command_classes() -> set[type[Command]]:
    return {
        value
        for value in vars(commands).values()
        if inspect.isclass(value) and issubclass(value, Command) and value is not Command
    }


def test_the_command_list_is_every_command_class_by_its_name() -> None:
    assert set(COMMANDS.values()) == _command_classes()
    assert all(COMMANDS[cls.__name__] is cls for cls in _command_classes())
    assert all(dataclasses.is_dataclass(cls) for cls in COMMANDS.values())
    assert len(COMMANDS) >= 29


def test_every_command_is_sharded_on_an_id_it_always_has() -> None:
    for cls in COMMANDS.values():
        field = {f.name: f for f in dataclasses.fields(cls)}.get(cls.shard_field)
        assert field is not None, f"{cls.__name__}.shard_field names no field"
        assert get_type_hints(cls)[field.name] is str, cls
        assert field.default is dataclasses.MISSING, cls


def test_every_command_has_one_handler_that_takes_it() -> None:
    assert sorted(c.__name__ for c in COMMANDS.values() if c not in HANDLERS) == []
    assert set(HANDLERS) == set(COMMANDS.values())
    for kind, handler in HANDLERS.items():
        assert get_type_hints(handler)["cmd"] is kind, handler


#: A value of each type a required command field has (a string field: its own name).
SAMPLES: dict[object, object] = {
    bool: True,
    int: 1,
    Decimal: Decimal("1.5"),
    frozenset[str]: frozenset({"name"}),
    tuple[str, ...]: ("x_2",),
    tuple[int, ...]: (0, 3),
    dict[str, Any]: {"k": 1},
    datetime: datetime(2026, 4, 13, 9, 0, tzinfo=UTC),
}


def test_every_command_travels_in_an_envelope_under_its_class_name() -> None:
    for name, cls in COMMANDS.items():
        hints = get_type_hints(cls)
        required = {
            f.name: f.name if hints[f.name] is str else SAMPLES[hints[f.name]]
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        command = cls(**required)
        wire = encode(Envelope("cmd_1", "cmp_1", "user:test", command))
        assert wire["type"] == name
        assert decode(wire).command == command
        assert command.shard_key == required[cls.shard_field]


def test_webhook_event_types_are_the_seeds_plus_transitions_approvals_and_budgets() -> None:
    seed = {
        "issue.created",
        "issue.assigned",
        "issue.reassigned",
        "issue.started",
        "issue.progress",
        "issue.review",
        "issue.done",
        "issue.failed",
        "issue.cancelled",
        "issue.handoff",
    }
    approvals = {"approval.requested", "approval.approved", "approval.rejected", "approval.expired"}
    budgets = {"budget.threshold", "budget.exceeded"}
    later = {"issue.requeued", "issue.rejected", "issue.overdue"}
    assert seed | later | approvals | budgets == EVENT_TYPES


def test_each_event_class_has_a_type_of_its_own() -> None:
    classes = {cls for cls in IssueEvent.__subclasses__()}
    types = {cls.type for cls in classes}
    assert len(types) == len({cls.__name__ for cls in classes}) == len(ISSUE_ACTIVITY_TYPES)
    # A checkpoint, and a stop (whose entry is the issue's handoff): events, not entries.
    assert {"issue.progress", "budget.exceeded"} == EVENT_TYPES - ACTIVITY_TYPES


def test_the_activity_types_are_the_issues_and_the_audits_apart() -> None:
    audits = {t.value for t in AuditType}
    assert ISSUE_ACTIVITY_TYPES | audits == ACTIVITY_TYPES
    assert not ISSUE_ACTIVITY_TYPES & audits
    assert not EVENT_TYPES & audits  # a company's entries are not webhook events
    for kind in AuditType:
        assert kind.subject in AuditSubject  # named <subject>.<what happened>
