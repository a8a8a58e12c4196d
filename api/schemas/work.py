"""Request bodies of an agent's work: claims, a run's reports, costs, approvals and reviews."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from api.schemas.common import Body, Ident, money_input, money_schema, six_places
from domain.approvals import MAX_EXPIRES_IN_S
from domain.runs import LEASE_SECONDS

__all__ = [
    "ApprovalDecisionBody",
    "ApprovalRequestBody",
    "ApprovalsDecideBody",
    "CheckpointBody",
    "ClaimBody",
    "CompleteBody",
    "CostBody",
    "FailBody",
    "HandoffBody",
    "LeaseToken",
    "ReviewBody",
    "TokenCount",
    "WorkspaceUrl",
]


LeaseToken = Annotated[str, Field(min_length=1, max_length=100)]
WorkspaceUrl = Annotated[str, Field(max_length=2000, pattern=r"^https?://")]


class ClaimBody(Body):
    wait_seconds: Annotated[int, Field(ge=0, le=30, strict=True)] = 0
    # The bounds and the default are domain's (``LEASE_SECONDS``): (shortest, longest, default).
    lease_seconds: Annotated[int, Field(ge=LEASE_SECONDS[0], le=LEASE_SECONDS[1], strict=True)] = (
        LEASE_SECONDS[2]
    )


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
        BeforeValidator(money_input),
        Field(ge=0, le=Decimal("1000000"), json_schema_extra=money_schema),
    ]
    input_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    model: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    _places = field_validator("usd")(six_places)


class ApprovalRequestBody(Body):
    lease_token: LeaseToken
    action: Annotated[str, Field(min_length=1, max_length=200)]
    details: dict[str, Any] | None = None
    #: Seconds until it expires if nobody decides (default ``AGENTQ_APPROVAL_TIMEOUT_S``,
    #: 3600), at most 30 days.
    expires_in_seconds: Annotated[int, Field(ge=1, le=MAX_EXPIRES_IN_S, strict=True)] | None = None


class ApprovalDecisionBody(Body):
    comment: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None


class ApprovalsDecideBody(Body):
    """One decision for up to 100 approvals; each is decided on its own (atomic per id)."""

    ids: Annotated[list[Ident], Field(min_length=1, max_length=100)]
    decision: Literal["approve", "reject"]
    comment: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None

    @field_validator("ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("ids are listed twice")
        return value


class ReviewBody(Body):
    decision: Literal["accept", "reject"]
    comment: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None
