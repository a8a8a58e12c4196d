"""Request bodies: camelCase, unknown fields refused, limits from docs/api.md."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

from domain.bulk import BulkOp
from domain.model import AgentStatus
from domain.tokens import TokenRole

__all__ = [
    "AgentCreate",
    "AgentPatch",
    "ApprovalDecisionBody",
    "ApprovalRequestBody",
    "AssignBody",
    "BulkBody",
    "CancelBody",
    "CheckpointBody",
    "ClaimBody",
    "CommentCreate",
    "CompanyCreate",
    "CompleteBody",
    "CostBody",
    "EmptyBody",
    "FailBody",
    "HandoffBody",
    "IssueCreate",
    "IssuePatch",
    "ReassignBody",
    "ReviewBody",
    "TeamCreate",
    "TokenCreate",
    "WebhookCreate",
    "WebhookPatch",
]


#: An RFC 3339 date-time with a zone (``Z`` or ``±hh:mm``), as docs/api.md writes every time.
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
RFC3339_HINT = "an RFC 3339 time with a zone, e.g. 2026-04-11T08:14:00Z"


def _rfc3339_text(value: Any) -> Any:
    """Only RFC 3339 text: pydantic alone would take a number or a digit string as epoch
    seconds, and more ISO 8601 forms than the document gives."""
    if not isinstance(value, str) or RFC3339.fullmatch(value) is None:
        raise ValueError(RFC3339_HINT)
    return value


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is out of range once converted to UTC") from exc


UtcTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_to_utc)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Ident = Annotated[str, Field(min_length=1, max_length=40)]
Label = Annotated[str, Field(min_length=1, max_length=100)]
Reason = Annotated[str, Field(max_length=2000)]


#: A PATCH field that may be left out but not set to null (refused with its own message):
#: the document shows it as not nullable.
NotNull = SkipJsonSchema[None]


class Body(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )


#: Money as text: plain decimal digits, at most 6 places (no sign, exponent or spaces).
DECIMAL_TEXT = re.compile(r"[0-9]+(\.[0-9]{1,6})?")
_MONEY_HINT = 'US dollars as a decimal number or string, at most 6 places, e.g. 1.50 or "1.50"'


def _money_input(value: Any) -> Any:
    """A JSON number, or a string of the document's pattern; pydantic alone would also take
    ``"1e2"`` (as 100), ``" 1"`` and ``true``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(_MONEY_HINT)
    if isinstance(value, str) and DECIMAL_TEXT.fullmatch(value) is None:
        raise ValueError(_MONEY_HINT)
    return value


def _six_places(value: Decimal | None) -> Decimal | None:
    if value is not None and value.as_tuple().exponent < -6:  # type: ignore[operator]
        raise ValueError("money has at most 6 decimal places")
    return value


def _money_schema(schema: dict[str, Any]) -> None:
    """The document says what a decimal string must look like (pydantic leaves it open), and
    the bounds as JSON Schema's ``minimum``/``maximum`` of the number (pydantic writes the
    ``Field``'s ``ge``/``le`` as they are, which no JSON Schema reader knows)."""
    low, high = schema.pop("ge", None), schema.pop("le", None)
    for branch in schema.get("anyOf", []):
        if branch.get("type") == "string":
            branch["pattern"] = f"^{DECIMAL_TEXT.pattern}$"
        if branch.get("type") == "number":
            if low is not None:
                branch["minimum"] = int(low) if low == int(low) else float(low)
            if high is not None:
                branch["maximum"] = int(high) if high == int(high) else float(high)
    schema["description"] = "US dollars, at most 6 decimal places (a number or a string)."


class EmptyBody(Body):
    """A body with no fields (any field is refused)."""


class CompanyCreate(Body):
    name: Name


class TokenCreate(Body):
    role: TokenRole
    agent_id: Ident | None = None

    @model_validator(mode="after")
    def _agent_bound(self) -> TokenCreate:
        if (self.role is TokenRole.AGENT) != (self.agent_id is not None):
            raise ValueError("agentId is required for role agent and refused for role admin")
        return self


class TeamCreate(Body):
    name: Name


class AgentCreate(Body):
    name: Name
    team_ids: Annotated[list[Ident], Field(max_length=100)] = []
    capacity: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1


class AgentPatch(Body):
    name: Name | NotNull = None
    #: ``null`` clears the agent's teams.
    team_ids: Annotated[list[Ident], Field(max_length=100)] | None = None
    capacity: Annotated[int, Field(ge=1, le=1000, strict=True)] | NotNull = None
    status: AgentStatus | NotNull = None


class Budget(Body):
    per_task_usd: (
        Annotated[
            Decimal,
            BeforeValidator(_money_input),
            Field(ge=0, le=Decimal("1000000000"), json_schema_extra=_money_schema),
        ]
        | None
    ) = None

    _places = field_validator("per_task_usd")(_six_places)


class IssueCreate(Body):
    title: Annotated[str, Field(min_length=1, max_length=500)]
    description: Annotated[str, Field(max_length=100_000)] | None = None
    parent_id: Ident | None = None
    assigned_team_id: Ident | None = None
    assigned_agent_id: Ident | None = None
    budget: Budget | None = None
    due_at: UtcTime | None = None
    labels: Annotated[list[Label], Field(max_length=50)] = []
    dependencies: Annotated[list[Ident], Field(max_length=100)] = []
    max_attempts: Annotated[int, Field(ge=1, le=100, strict=True)] = 3

    @field_validator("dependencies")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("dependencies are listed twice")
        return value


class IssuePatch(Body):
    title: Annotated[str, Field(min_length=1, max_length=500)] | NotNull = None
    description: Annotated[str, Field(max_length=100_000)] | None = None
    labels: Annotated[list[Label], Field(max_length=50)] | NotNull = None
    due_at: UtcTime | None = None
    budget: Budget | NotNull = None

    @model_validator(mode="after")
    def _not_null(self) -> IssuePatch:
        for name in ("title", "labels", "budget"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{to_camel(name)} may not be null")
        if self.budget is not None and "per_task_usd" not in self.budget.model_fields_set:
            raise ValueError("budget.perTaskUsd is the only budget field PATCH takes")
        return self


class AssignBody(Body):
    agent_id: Ident


class CancelBody(Body):
    reason: Reason | None = None
    #: Cancel the live children too (each through the command path), listed in the answer.
    cascade: Annotated[bool, Field(strict=True)] = False


class ReassignBody(Body):
    to_agent_id: Ident | None = None
    to_team_id: Ident | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ReassignBody:
        if (self.to_agent_id is None) == (self.to_team_id is None):
            raise ValueError("give exactly one of toAgentId and toTeamId")
        return self


class CommentCreate(Body):
    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    author: Annotated[str, Field(pattern=r"^(user:[^\s].{0,99}|agent:agt_[0-9a-z]{1,36})$")]


LeaseToken = Annotated[str, Field(min_length=1, max_length=100)]
WorkspaceUrl = Annotated[str, Field(max_length=2000, pattern=r"^https?://")]


class ClaimBody(Body):
    wait_seconds: Annotated[int, Field(ge=0, le=30, strict=True)] = 0
    lease_seconds: Annotated[int, Field(ge=10, le=3600, strict=True)] = 60


class CheckpointBody(Body):
    lease_token: LeaseToken
    progress: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    workspace_url: WorkspaceUrl | None = None


class CompleteBody(Body):
    lease_token: LeaseToken
    result: dict[str, Any] | None = None
    workspace_url: WorkspaceUrl | None = None


class FailBody(Body):
    lease_token: LeaseToken
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    details: dict[str, Any] | None = None
    retryable: Annotated[bool, Field(strict=True)] = False


class HandoffBody(Body):
    lease_token: LeaseToken
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


#: Token counts of one report: far above any real call, far below a BIGINT's end.
TokenCount = Annotated[int, Field(ge=0, le=10**12, strict=True)]


class CostBody(Body):
    lease_token: LeaseToken
    usd: Annotated[
        Decimal,
        BeforeValidator(_money_input),
        Field(ge=0, le=Decimal("1000000"), json_schema_extra=_money_schema),
    ]
    input_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    model: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    _places = field_validator("usd")(_six_places)


class ApprovalRequestBody(Body):
    lease_token: LeaseToken
    action: Annotated[str, Field(min_length=1, max_length=200)]
    details: dict[str, Any] | None = None


class ApprovalDecisionBody(Body):
    comment: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None


class ReviewBody(Body):
    decision: Literal["accept", "reject"]
    comment: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None


def _event_choices(schema: dict[str, Any]) -> None:
    """The document lists the event types a filter may name (the validator checks them)."""
    from service.webhooks.outbox import EVENT_TYPES

    schema["enum"] = ["issue.*", *sorted(EVENT_TYPES)]


EventFilter = Annotated[str, Field(min_length=1, max_length=40, json_schema_extra=_event_choices)]
EventFilters = Annotated[list[EventFilter], Field(max_length=20, json_schema_extra={"minItems": 1})]
#: http or https (the document says so; ``api.routes.webhooks`` checks it is a public address).
WebhookUrl = Annotated[
    str, Field(min_length=1, max_length=2000, json_schema_extra={"pattern": "^https?://"})
]


def _known_events(value: list[str] | None) -> list[str] | None:
    from service.webhooks.outbox import EVENT_TYPES

    if value is not None:
        unknown = [e for e in value if e not in EVENT_TYPES and e != "issue.*"]
        if unknown:
            raise ValueError(f"unknown event type {unknown[0]!r}; use issue.* or one of the list")
        if not value:
            raise ValueError("name at least one event type (or issue.*)")
    return value


class WebhookCreate(Body):
    url: WebhookUrl
    events: EventFilters
    description: Annotated[str, Field(max_length=500)] | None = None

    _events = field_validator("events")(_known_events)


class WebhookPatch(Body):
    url: WebhookUrl | NotNull = None
    events: EventFilters | NotNull = None
    disabled: Annotated[bool, Field(strict=True)] | NotNull = None
    description: Annotated[str, Field(max_length=500)] | None = None

    _events = field_validator("events")(_known_events)

    @model_validator(mode="after")
    def _not_null(self) -> WebhookPatch:
        for name in ("url", "events", "disabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


BulkId = Annotated[str, Field(min_length=1, max_length=100)]


class BulkBody(Body):
    ids: Annotated[list[BulkId], Field(min_length=1, max_length=10_000)]
    op: BulkOp
    args: dict[str, Any] = {}

    @field_validator("ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for issue_id in value:
            if issue_id in seen:
                raise ValueError(f"{issue_id} is listed twice")
            seen.add(issue_id)
        return value
