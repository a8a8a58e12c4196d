"""The company's audit trail: what changes a company but no issue, as activity entries.

An issue's entries come from its events (``domain.events``); a company's entries say who
created, changed or removed an agent, a team, a token, a webhook endpoint, a budget or a
routine, with
a before/after of each field that changed. Their types are the ``AuditType`` members, named
like the issue's (``<subject>.<past tense>``); the subject is the part before the dot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "AUDITED_FIELDS",
    "REDACTED",
    "SECRET_FIELDS",
    "AuditEntry",
    "AuditSubject",
    "AuditType",
    "audited",
    "field_changes",
]


class AuditSubject(StrEnum):
    """What a company entry is about (its ``subjectType``; ``subjectId`` is the id)."""

    AGENT = "agent"
    TEAM = "team"
    TOKEN = "token"
    WEBHOOK_ENDPOINT = "webhook_endpoint"
    #: A budget of a scope (``PUT /budgets/{scope}/{id}``): ``subjectId`` is ``<scope>:<id>``.
    BUDGET = "budget"
    ROUTINE = "routine"


class AuditType(StrEnum):
    """Every ``type`` a company entry can have."""

    AGENT_CREATED = "agent.created"
    #: Its name, capacity or teams changed (team membership is the agent's ``teamIds``).
    AGENT_UPDATED = "agent.updated"
    #: Its status went ``active`` → ``paused`` (other fields of the same PATCH in ``changes``).
    AGENT_PAUSED = "agent.paused"
    #: Its status went ``paused`` → ``active``.
    AGENT_RESUMED = "agent.resumed"
    TEAM_CREATED = "team.created"
    #: Never the token itself: its role and agent.
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    #: Never the signing secret.
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    #: Its url, events or description changed.
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated"
    #: By a user (PATCH ``disabled: true``) or by agentq (``system:webhooks``: it answered
    #: 410 or kept failing; the reason says which).
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    WEBHOOK_ENDPOINT_ENABLED = "webhook_endpoint.enabled"
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted"
    BUDGET_SET = "budget.set"
    ROUTINE_CREATED = "routine.created"
    #: Its name, schedule, template or catch-up changed.
    ROUTINE_UPDATED = "routine.updated"
    #: ``paused`` went false → true (other fields of the same PATCH in ``changes``).
    ROUTINE_PAUSED = "routine.paused"
    ROUTINE_RESUMED = "routine.resumed"
    #: Every field, ``after`` null; the issues it created stay.
    ROUTINE_DELETED = "routine.deleted"

    @property
    def subject(self) -> AuditSubject:
        return AuditSubject(self.value.partition(".")[0])


#: The fields of each subject (as the wire names them) whose changes an entry shows: what an
#: admin sets, not what moves by itself (an agent's ``activeRuns``, ``updatedAt``).
AUDITED_FIELDS: dict[AuditSubject, tuple[str, ...]] = {
    AuditSubject.AGENT: ("name", "status", "capacity", "teamIds"),
    AuditSubject.TEAM: ("name",),
    AuditSubject.TOKEN: ("role", "agentId", "revokedAt"),
    AuditSubject.WEBHOOK_ENDPOINT: ("url", "events", "description", "disabled", "disabledReason"),
    AuditSubject.BUDGET: ("monthlyUsd",),
    AuditSubject.ROUTINE: ("name", "cron", "timezone", "template", "catchUp", "paused"),
}


def audited(subject: AuditSubject, body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The audited fields of ``body`` (a resource as the wire has it); None stays None."""
    if body is None:
        return None
    return {name: body.get(name) for name in AUDITED_FIELDS[subject]}


#: Fields whose value an entry never shows, wherever they appear: only that they changed.
SECRET_FIELDS = frozenset({"secret", "token", "tokenHash", "signingSecret"})
#: What an entry shows in place of a secret's value.
REDACTED = "[redacted]"


def _shown(name: str, value: Any) -> Any:
    return REDACTED if name in SECRET_FIELDS and value is not None else value


def field_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """``{field: {"before", "after"}}`` for each field whose value differs (``before`` None:
    created, every field's ``before`` is None; ``after`` None: removed). Field names are the
    wire's (camelCase); a secret's value is never shown (``SECRET_FIELDS``)."""
    old, new = before or {}, after or {}
    changes: dict[str, dict[str, Any]] = {}
    for name in [*old, *(n for n in new if n not in old)]:
        was, now = old.get(name), new.get(name)
        if was != now:
            changes[name] = {"before": _shown(name, was), "after": _shown(name, now)}
    return changes


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One company entry, before it is stored: who did ``type`` to ``subject_id``."""

    type: AuditType
    subject_id: str
    actor: str
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str | None = None
