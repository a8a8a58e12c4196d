"""The API's schemas as pydantic models (generated: do not edit).

Written by ``python -m api.sdk_models`` from the served OpenAPI document with
datamodel-code-generator; a test fails when this file differs from what it would write.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from typing_extensions import TypeAliasType


class Accepted(BaseModel):
    """
    Accepted: the command is queued; `Location` is `GET …/commands/{commandId}`.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    command_id: str
    status: Literal["accepted"]


AgentCreateTeamId = TypeAliasType(
    "AgentCreateTeamId", Annotated[str, Field(max_length=40, min_length=1)]
)


class AgentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    name: Annotated[str, Field(max_length=200, min_length=1)]
    team_ids: Annotated[list[AgentCreateTeamId] | None, Field(max_length=100)] = []
    capacity: Annotated[int | None, Field(ge=1, le=1000)] = 1


AgentPatchTeamIdsAgentPatchTeamId = TypeAliasType(
    "AgentPatchTeamIdsAgentPatchTeamId",
    Annotated[str, Field(max_length=40, min_length=1)],
)


AgentPatchTeamIds = TypeAliasType(
    "AgentPatchTeamIds",
    Annotated[list[AgentPatchTeamIdsAgentPatchTeamId], Field(max_length=100)],
)


class Amounts(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    usd: Decimal | None
    input_tokens: int
    output_tokens: int
    reports: int


ApprovalDecisionBodyComment = TypeAliasType(
    "ApprovalDecisionBodyComment", Annotated[str, Field(max_length=20000, min_length=1)]
)


class ApprovalDecisionBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    comment: ApprovalDecisionBodyComment | None = None


ApprovalRequestBodyExpiresInSeconds = TypeAliasType(
    "ApprovalRequestBodyExpiresInSeconds", Annotated[int, Field(ge=1, le=2592000)]
)


class ApprovalRequestBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    lease_token: Annotated[str, Field(max_length=100, min_length=1)]
    action: Annotated[str, Field(max_length=200, min_length=1)]
    details: dict[str, Any] | None = None
    expires_in_seconds: ApprovalRequestBodyExpiresInSeconds | None = None


ApprovalsDecideBodyId = TypeAliasType(
    "ApprovalsDecideBodyId", Annotated[str, Field(max_length=40, min_length=1)]
)


ApprovalsDecideBodyComment = TypeAliasType(
    "ApprovalsDecideBodyComment", Annotated[str, Field(max_length=20000, min_length=1)]
)


class ApprovalsDecideBody(BaseModel):
    """
    One decision for up to 100 approvals; each is decided on its own (atomic per id).
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    ids: Annotated[list[ApprovalsDecideBodyId], Field(max_length=100, min_length=1)]
    decision: Literal["approve", "reject"]
    comment: ApprovalsDecideBodyComment | None = None


class AssignBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    agent_id: Annotated[str, Field(max_length=40, min_length=1)]


BudgetPerTaskUsd = TypeAliasType(
    "BudgetPerTaskUsd",
    Annotated[
        Decimal,
        Field(
            description="US dollars, at most 6 decimal places (a number or a string).",
            ge=0,
            le=1000000000,
        ),
    ],
)


BudgetPerTaskUsd1 = TypeAliasType(
    "BudgetPerTaskUsd1",
    Annotated[
        str,
        Field(
            description="US dollars, at most 6 decimal places (a number or a string).",
            pattern="^[0-9]+(\\.[0-9]{1,6})?$",
        ),
    ],
)


class Budget(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    per_task_usd: BudgetPerTaskUsd | BudgetPerTaskUsd1 | None = None
    include_subtasks: bool | None = None


BudgetCapBodyMonthlyUsd = TypeAliasType(
    "BudgetCapBodyMonthlyUsd",
    Annotated[
        Decimal,
        Field(
            description="US dollars, at most 6 decimal places (a number or a string).",
            ge=0,
            le=1000000000,
        ),
    ],
)


BudgetCapBodyMonthlyUsd1 = TypeAliasType(
    "BudgetCapBodyMonthlyUsd1",
    Annotated[
        str,
        Field(
            description="US dollars, at most 6 decimal places (a number or a string).",
            pattern="^[0-9]+(\\.[0-9]{1,6})?$",
        ),
    ],
)


class BudgetCapBody(BaseModel):
    """
    A monthly cap: what the scope may spend per UTC calendar month.
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    monthly_usd: Annotated[
        BudgetCapBodyMonthlyUsd | BudgetCapBodyMonthlyUsd1,
        Field(description="US dollars, at most 6 decimal places (a number or a string)."),
    ]


class BudgetEventData(BaseModel):
    """
    ``budget.threshold`` and ``budget.exceeded``: which cap, and where its spend stands.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    scope: str
    scope_id: str
    month: str | None
    cap_usd: Annotated[
        Decimal,
        Field(description="US dollars: a JSON number with at most 6 decimal places, exact."),
    ]
    spent_usd: Annotated[
        Decimal,
        Field(description="US dollars: a JSON number with at most 6 decimal places, exact."),
    ]
    percent: int | None = None
    run_id: str


BulkBodyId = TypeAliasType("BulkBodyId", Annotated[str, Field(max_length=100, min_length=1)])


class BulkStarted(BaseModel):
    """
    Accepted: the bulk goes on; `Location` is `GET …/bulk/{id}`.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    status: Literal["running"]
    total: int


CancelBodyReason = TypeAliasType("CancelBodyReason", Annotated[str, Field(max_length=2000)])


class CancelBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    reason: CancelBodyReason | None = None
    cascade: bool | None = False


CheckpointBodyWorkspaceUrl = TypeAliasType(
    "CheckpointBodyWorkspaceUrl",
    Annotated[str, Field(max_length=2000, pattern="^https?://")],
)


class CheckpointBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    lease_token: Annotated[str, Field(max_length=100, min_length=1)]
    progress: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    workspace_url: CheckpointBodyWorkspaceUrl | None = None


class ClaimBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    wait_seconds: Annotated[int | None, Field(ge=0, le=30)] = 0
    lease_seconds: Annotated[int | None, Field(ge=5, le=3600)] = 60


class Comment(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    issue_id: str
    text: str
    author: str
    created_at: AwareDatetime


class CommentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    text: Annotated[str, Field(max_length=20000, min_length=1)]
    author: Annotated[str, Field(pattern="^(user:[^\\s].{0,99}|agent:agt_[0-9a-z]{1,36})$")]


class CommentPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[Comment]


class Company(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    name: str
    created_at: AwareDatetime


class CompanyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    name: Annotated[str, Field(max_length=200, min_length=1)]


CompleteBodyWorkspaceUrl = TypeAliasType(
    "CompleteBodyWorkspaceUrl",
    Annotated[str, Field(max_length=2000, pattern="^https?://")],
)


class CompleteBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    lease_token: Annotated[str, Field(max_length=100, min_length=1)]
    result: dict[str, Any] | None = None
    workspace_url: CompleteBodyWorkspaceUrl | None = None


CostBodyUsd = TypeAliasType(
    "CostBodyUsd",
    Annotated[
        Decimal,
        Field(
            description="US dollars, at most 6 decimal places (a number or a string).",
            ge=0,
            le=1000000,
        ),
    ],
)


CostBodyUsd1 = TypeAliasType(
    "CostBodyUsd1",
    Annotated[
        str,
        Field(
            description="US dollars, at most 6 decimal places (a number or a string).",
            pattern="^[0-9]+(\\.[0-9]{1,6})?$",
        ),
    ],
)


CostBodyModel = TypeAliasType("CostBodyModel", Annotated[str, Field(max_length=100, min_length=1)])


class CostBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    lease_token: Annotated[str, Field(max_length=100, min_length=1)]
    usd: Annotated[
        CostBodyUsd | CostBodyUsd1,
        Field(description="US dollars, at most 6 decimal places (a number or a string)."),
    ]
    input_tokens: Annotated[int | None, Field(ge=0, le=1000000000000)] = 0
    output_tokens: Annotated[int | None, Field(ge=0, le=1000000000000)] = 0
    model: CostBodyModel | None = None


class CostGroup(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    usd: Decimal | None
    input_tokens: int
    output_tokens: int
    reports: int
    key: str | None


class CostRollup(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    group_by: str
    since: AwareDatetime | None
    until: AwareDatetime | None
    total: Amounts
    data: list[CostGroup]
    next_cursor: str | None
    has_more: bool


class EmptyBody(BaseModel):
    """
    A body with no fields (any field is refused).
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )


class FailBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    lease_token: Annotated[str, Field(max_length=100, min_length=1)]
    reason: Annotated[str, Field(max_length=2000, min_length=1)]
    details: dict[str, Any] | None = None
    retryable: bool | None = False


class FieldChange(BaseModel):
    """
    One field of a company entry's subject: its value before and after (null: it had
    none, or the subject was created or removed; ``[redacted]`` for a secret).
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    before: Any
    after: Any


class FieldProblem(BaseModel):
    """
    One refused field: where (``["body", "title"]``, ``["query", "limit"]``…) and why.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    loc: list[str | int]
    msg: str


class HandoffBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    lease_token: Annotated[str, Field(max_length=100, min_length=1)]
    reason: Annotated[str, Field(max_length=2000, min_length=1)]


class Health(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    status: Literal["ok", "ready"]


class Index(BaseModel):
    """
    ``GET /``: where to read about the API.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    name: Literal["agentq"]
    docs: str
    openapi: str
    reference: str


IssueCreateDescription = TypeAliasType(
    "IssueCreateDescription", Annotated[str, Field(max_length=100000)]
)


IssueCreateParentId = TypeAliasType(
    "IssueCreateParentId", Annotated[str, Field(max_length=40, min_length=1)]
)


IssueCreateAssignedTeamId = TypeAliasType(
    "IssueCreateAssignedTeamId", Annotated[str, Field(max_length=40, min_length=1)]
)


IssueCreateAssignedAgentId = TypeAliasType(
    "IssueCreateAssignedAgentId", Annotated[str, Field(max_length=40, min_length=1)]
)


IssueCreateLabel = TypeAliasType(
    "IssueCreateLabel", Annotated[str, Field(max_length=100, min_length=1)]
)


IssueCreateDependency = TypeAliasType(
    "IssueCreateDependency", Annotated[str, Field(max_length=40, min_length=1)]
)


IssuePatchDescription = TypeAliasType(
    "IssuePatchDescription", Annotated[str, Field(max_length=100000)]
)


IssuePatchLabel = TypeAliasType(
    "IssuePatchLabel", Annotated[str, Field(max_length=100, min_length=1)]
)


class Lease(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    token: str
    granted_at: AwareDatetime
    expires_at: AwareDatetime
    renewals: int
    released_at: AwareDatetime | None
    release_reason: str | None


class LeaseGrant(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    token: str
    expires_at: AwareDatetime


class Me(BaseModel):
    """
    The caller: its role, its company (none for the operator) and, for an agent token,
    its agent.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    role: Literal["operator", "admin", "agent"]
    company_id: str | None
    agent_id: str | None
    token_id: str | None


class NewWebhook(BaseModel):
    """
    Created: the signing `secret` (`whsec_…`) is shown once, in this answer (not when an
    `Idempotency-Key` replays it).
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    company_id: str
    url: str
    events: list[str]
    description: str | None
    disabled: bool
    disabled_reason: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    secret: str | None = None


class Problem(BaseModel):
    """
    An RFC 9457 problem: every error answer (``application/problem+json``).
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    type: str
    title: str
    status: int
    detail: str
    code: Literal[
        "agent_unavailable",
        "at_capacity",
        "bad_request",
        "blocked",
        "budget_exhausted",
        "forbidden",
        "frozen",
        "headers_too_large",
        "idempotency_conflict",
        "internal_error",
        "invalid_request",
        "invalid_transition",
        "method_not_allowed",
        "not_editable",
        "not_found",
        "payload_too_large",
        "precondition_failed",
        "rate_limited",
        "request_timeout",
        "stale_lease",
        "unauthorized",
        "unavailable",
        "unsupported_media_type",
        "uri_too_long",
    ]
    errors: list[FieldProblem] | None = None
    current_status: str | None = None
    stop: bool | None = None
    stop_reason: str | None = None
    budget_scope: str | None = None
    budget_scope_id: str | None = None
    month: str | None = None


ReassignBodyToAgentId = TypeAliasType(
    "ReassignBodyToAgentId", Annotated[str, Field(max_length=40, min_length=1)]
)


ReassignBodyToTeamId = TypeAliasType(
    "ReassignBodyToTeamId", Annotated[str, Field(max_length=40, min_length=1)]
)


ReassignBodyReason = TypeAliasType("ReassignBodyReason", Annotated[str, Field(max_length=2000)])


class ReassignBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    to_agent_id: ReassignBodyToAgentId | None = None
    to_team_id: ReassignBodyToTeamId | None = None
    reason: ReassignBodyReason | None = None


class RetryPolicy(BaseModel):
    """
    The issue's own retry backoff, in seconds: the first retry waits a uniform draw up to
    ``baseSeconds``, each later one up to twice the one before, never above ``maxSeconds``.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    base_seconds: int
    max_seconds: int


class RetryPolicyBody(BaseModel):
    """
    The issue's own retry backoff, in whole seconds (both fields).
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    base_seconds: Annotated[int, Field(ge=0, le=86400)]
    max_seconds: Annotated[int, Field(ge=0, le=604800)]


ReviewBodyComment = TypeAliasType(
    "ReviewBodyComment", Annotated[str, Field(max_length=20000, min_length=1)]
)


class ReviewBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    decision: Literal["accept", "reject"]
    comment: ReviewBodyComment | None = None


class RoutineRun(BaseModel):
    """
    One issue a routine created.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    routine_id: str
    tick_at: AwareDatetime
    issue_id: str
    ticks: int
    created_at: AwareDatetime


class RoutineRunPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[RoutineRun]


RoutineTemplateBodyDescription = TypeAliasType(
    "RoutineTemplateBodyDescription", Annotated[str, Field(max_length=100000)]
)


RoutineTemplateBodyAssignedTeamId = TypeAliasType(
    "RoutineTemplateBodyAssignedTeamId",
    Annotated[str, Field(max_length=40, min_length=1)],
)


RoutineTemplateBodyAssignedAgentId = TypeAliasType(
    "RoutineTemplateBodyAssignedAgentId",
    Annotated[str, Field(max_length=40, min_length=1)],
)


RoutineTemplateBodyLabel = TypeAliasType(
    "RoutineTemplateBodyLabel", Annotated[str, Field(max_length=100, min_length=1)]
)


class RoutineTemplateBody(BaseModel):
    """
    The issue each tick creates. ``{date}``, ``{time}`` and ``{datetime}`` in the title
    become the tick's local date (``2026-04-13``) and time (``09:00``).
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    title: Annotated[str, Field(max_length=480, min_length=1)]
    description: RoutineTemplateBodyDescription | None = None
    assigned_team_id: RoutineTemplateBodyAssignedTeamId | None = None
    assigned_agent_id: RoutineTemplateBodyAssignedAgentId | None = None
    labels: Annotated[list[RoutineTemplateBodyLabel] | None, Field(max_length=50)] = []
    budget: Budget | None = None
    priority: Literal["critical", "high", "medium", "low"] | None = None
    max_attempts: Annotated[int | None, Field(ge=1, le=100)] = 3


class RunCost(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    usd: Decimal | None
    input_tokens: int
    output_tokens: int


class Spent(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    usd: Decimal | None


class Team(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    company_id: str
    name: str
    created_at: AwareDatetime


class TeamCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    name: Annotated[str, Field(max_length=200, min_length=1)]


class TeamPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[Team]


class TemplateBudget(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    per_task_usd: Decimal | None = None
    include_subtasks: bool | None = None


TokenCreateAgentId = TypeAliasType(
    "TokenCreateAgentId", Annotated[str, Field(max_length=40, min_length=1)]
)


class Webhook(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    company_id: str
    url: str
    events: list[str]
    description: str | None
    disabled: bool
    disabled_reason: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


WebhookCreateDescription = TypeAliasType(
    "WebhookCreateDescription", Annotated[str, Field(max_length=500)]
)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    url: Annotated[str, Field(max_length=2000, min_length=1, pattern="^https?://")]
    events: Annotated[
        list[
            Literal[
                "approval.*",
                "approval.approved",
                "approval.expired",
                "approval.rejected",
                "approval.requested",
                "budget.*",
                "budget.exceeded",
                "budget.threshold",
                "issue.*",
                "issue.assigned",
                "issue.cancelled",
                "issue.created",
                "issue.done",
                "issue.failed",
                "issue.handoff",
                "issue.overdue",
                "issue.progress",
                "issue.reassigned",
                "issue.rejected",
                "issue.requeued",
                "issue.review",
                "issue.started",
            ]
        ],
        Field(max_length=20, min_length=1),
    ]
    description: WebhookCreateDescription | None = None


class WebhookPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[Webhook]


WebhookPatchDescription = TypeAliasType(
    "WebhookPatchDescription", Annotated[str, Field(max_length=500)]
)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    url: Annotated[str | None, Field(max_length=2000, min_length=1, pattern="^https?://")] = None
    events: Annotated[
        list[
            Literal[
                "approval.*",
                "approval.approved",
                "approval.expired",
                "approval.rejected",
                "approval.requested",
                "budget.*",
                "budget.exceeded",
                "budget.threshold",
                "issue.*",
                "issue.assigned",
                "issue.cancelled",
                "issue.created",
                "issue.done",
                "issue.failed",
                "issue.handoff",
                "issue.overdue",
                "issue.progress",
                "issue.reassigned",
                "issue.rejected",
                "issue.requeued",
                "issue.review",
                "issue.started",
            ]
        ]
        | None,
        Field(max_length=20, min_length=1),
    ] = None
    disabled: bool | None = None
    description: WebhookPatchDescription | None = None


class ActivityEntry(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    at: AwareDatetime
    issue_id: str | None
    type: str
    from_status: str | None
    to_status: str | None
    actor: str
    reason: str | None
    version: int | None
    command_id: str | None
    subject_type: str
    subject_id: str
    changes: dict[str, FieldChange] | None = None
    not_before: AwareDatetime | None


class ActivityPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[ActivityEntry]


class Agent(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    company_id: str
    name: str
    status: Annotated[Literal["active", "paused"], Field(title="AgentStatus")]
    capacity: int
    active_runs: int
    team_ids: list[str]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class AgentPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[Agent]


class AgentPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    name: Annotated[str | None, Field(max_length=200, min_length=1)] = None
    team_ids: AgentPatchTeamIds | None = None
    capacity: Annotated[int | None, Field(ge=1, le=1000)] = None
    status: Annotated[Literal["active", "paused"] | None, Field(title="AgentStatus")] = None


class Approval(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    issue_id: str
    run_id: str
    agent_id: str
    action: str
    details: dict[str, Any] | None
    status: Annotated[
        Literal["pending", "approved", "rejected", "expired"],
        Field(title="ApprovalStatus"),
    ]
    comment: str | None
    decided_by: str | None
    decided_at: AwareDatetime | None
    created_at: AwareDatetime
    expires_at: AwareDatetime | None


class ApprovalOutcome(BaseModel):
    """
    What one id of ``POST /approvals/decide`` came to.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    ok: bool | None
    status: Literal["pending", "approved", "rejected", "expired"] | None = None
    error: Problem | None = None
    command_id: str | None = None


class ApprovalPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[Approval]


class BulkBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    ids: Annotated[list[BulkBodyId], Field(max_length=10000, min_length=1)]
    op: Annotated[
        Literal["assign", "cancel", "reassign"],
        Field(
            description="What a bulk does to each of its issues (the command each one becomes).",
            title="BulkOp",
        ),
    ]
    args: dict[str, Any] | None = {}


class BulkResult(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    ok: bool
    status: str | None = None
    error: Problem | None = None


class Checkpointed(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    lease: LeaseGrant
    comments: list[Comment]
    stop: bool
    stop_reason: str | None = None
    approvals: list[Approval]


class CommandStatus(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    status: Literal["accepted", "applied", "rejected"]
    result: Any | None = None
    error: Problem | None = None


class Delivery(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    webhook_id: str
    event_id: str
    event_type: str | None
    status: Annotated[
        Literal["pending", "delivering", "succeeded", "failed"],
        Field(title="DeliveryStatus"),
    ]
    attempt: int
    response_status: int | None
    duration_ms: int | None
    last_error: str | None
    next_attempt_at: AwareDatetime | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class DeliveryPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[Delivery]


class IssueBudget(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    per_task_usd: Decimal | None
    include_subtasks: bool
    spent: Spent


class IssueCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    title: Annotated[str, Field(max_length=500, min_length=1)]
    description: IssueCreateDescription | None = None
    parent_id: IssueCreateParentId | None = None
    assigned_team_id: IssueCreateAssignedTeamId | None = None
    assigned_agent_id: IssueCreateAssignedAgentId | None = None
    budget: Budget | None = None
    due_at: AwareDatetime | None = None
    labels: Annotated[list[IssueCreateLabel] | None, Field(max_length=50)] = []
    dependencies: Annotated[list[IssueCreateDependency] | None, Field(max_length=100)] = []
    max_attempts: Annotated[int | None, Field(ge=1, le=100)] = 3
    priority: Literal["critical", "high", "medium", "low"] | None = None
    not_before: AwareDatetime | None = None
    retry_policy: RetryPolicyBody | None = None


class IssuePatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    title: Annotated[str | None, Field(max_length=500, min_length=1)] = None
    description: IssuePatchDescription | None = None
    labels: Annotated[list[IssuePatchLabel] | None, Field(max_length=50)] = None
    due_at: AwareDatetime | None = None
    budget: Budget | None = None
    priority: Annotated[
        Literal["critical", "high", "medium", "low"] | None,
        Field(description="Most urgent first.", title="Priority"),
    ] = None
    not_before: AwareDatetime | None = None


class MonthlyBudget(BaseModel):
    """
    A monthly cap on an agent, a team or the company, with the month's spend so far.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    scope: Literal["agent", "team", "company"]
    scope_id: str
    company_id: str
    monthly_usd: Annotated[
        Decimal,
        Field(description="US dollars: a JSON number with at most 6 decimal places, exact."),
    ]
    month: str
    spent: Spent
    exhausted: bool
    created_at: AwareDatetime
    updated_at: AwareDatetime


class MonthlyBudgetPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[MonthlyBudget]


class NewToken(BaseModel):
    """
    Created: the plaintext `token` is shown once, in this answer (not when an
    `Idempotency-Key` replays it: only the token's hash is stored).
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    company_id: str
    role: Annotated[Literal["admin", "agent"], Field(title="TokenRole")]
    agent_id: str | None
    created_at: AwareDatetime
    token: str | None = None


class RoutineCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    name: Annotated[str, Field(max_length=200, min_length=1)]
    cron: Annotated[str, Field(max_length=200, min_length=1)]
    timezone: Annotated[
        str | None, Field(examples=["Europe/Paris"], max_length=64, min_length=1)
    ] = "UTC"
    template: RoutineTemplateBody
    catch_up: Annotated[
        Literal["skip", "one"] | None,
        Field(description="What a routine does about ticks it missed.", title="CatchUp"),
    ] = "skip"
    paused: bool | None = False


class RoutinePatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    name: Annotated[str | None, Field(max_length=200, min_length=1)] = None
    cron: Annotated[str | None, Field(max_length=200, min_length=1)] = None
    timezone: Annotated[
        str | None, Field(examples=["Europe/Paris"], max_length=64, min_length=1)
    ] = None
    template: RoutineTemplateBody | None = None
    catch_up: Annotated[
        Literal["skip", "one"] | None,
        Field(description="What a routine does about ticks it missed.", title="CatchUp"),
    ] = None
    paused: bool | None = None


class RoutineTemplate(BaseModel):
    """
    The issue each tick creates; ``{date}``, ``{time}`` and ``{datetime}`` in the title
    become the tick's local date and time.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    title: str
    description: str | None = None
    assigned_team_id: str | None = None
    assigned_agent_id: str | None = None
    labels: list[str] | None = None
    budget: TemplateBudget | None = None
    priority: Literal["critical", "high", "medium", "low"] | None = None
    max_attempts: int | None = None


class Run(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    issue_id: str
    agent_id: str
    attempt: int
    status: Annotated[Literal["active", "ended"], Field(title="RunStatus")]
    started_at: AwareDatetime
    ended_at: AwareDatetime | None
    lease_history: list[Lease]
    final_checkpoint: dict[str, Any] | None
    cost: RunCost
    exit_reason: (
        Literal[
            "completed",
            "failed",
            "cancelled",
            "reassigned",
            "lease_expired",
            "budget_exceeded",
            "handoff",
            "dependency_failed",
        ]
        | None
    )
    exit_details: dict[str, Any] | None
    workspace_url: str | None


class RunPage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[Run]


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
    )
    role: Annotated[Literal["admin", "agent"], Field(title="TokenRole")]
    agent_id: TokenCreateAgentId | None = None


class ApprovalDecisions(BaseModel):
    """
    Each id's outcome, in the order of ``ids``.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    results: list[ApprovalOutcome]


class BulkJob(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    status: Annotated[Literal["running", "done"], Field(title="BulkStatus")]
    op: Literal["assign", "cancel", "reassign"] | None = None
    total: int
    succeeded: int | None = None
    failed: int | None = None
    results: list[BulkResult] | None = None


class CostReported(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    issue_id: str
    run_id: str
    cost: RunCost
    budget: IssueBudget
    stop: bool
    stop_reason: str | None = None
    budget_scope: str | None = None
    budget_scope_id: str | None = None


class Issue(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    company_id: str
    title: str
    description: str | None
    status: Annotated[
        Literal[
            "queued", "assigned", "running", "review", "done", "failed", "cancelled", "handoff"
        ],
        Field(description="Where an issue is in its life.", title="IssueStatus"),
    ]
    parent_id: str | None
    assigned_agent_id: str | None
    assigned_team_id: str | None
    budget: IssueBudget
    due_at: AwareDatetime | None
    labels: list[str]
    dependencies: list[str]
    current_run_id: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    version: int
    blocked_by: list[str]
    pending_approvals: list[str]
    attempts: int
    max_attempts: int
    priority: Annotated[
        Literal["critical", "high", "medium", "low"],
        Field(description="Most urgent first.", title="Priority"),
    ]
    not_before: AwareDatetime | None
    retry_policy: RetryPolicy | None
    cancelled_children: list[str] | None = None


class IssuePage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[Issue]


class Routine(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    company_id: str
    name: str
    cron: str
    timezone: str
    template: RoutineTemplate
    catch_up: Annotated[
        Literal["skip", "one"],
        Field(description="What a routine does about ticks it missed.", title="CatchUp"),
    ]
    paused: bool
    next_run_at: AwareDatetime
    created_at: AwareDatetime
    updated_at: AwareDatetime


class RoutinePage(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    next_cursor: str | None
    has_more: bool
    data: list[Routine]


class WebhookEventData(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    issue: Issue
    previous_status: (
        Literal["queued", "assigned", "running", "review", "done", "failed", "cancelled", "handoff"]
        | None
    )
    actor: str
    run: Run | None = None
    approval: Approval | None = None
    budget: BudgetEventData | None = None


class Claimed(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    issue: Issue
    run: Run
    lease: LeaseGrant


class WebhookEvent(BaseModel):
    """
    What agentq POSTs to a subscribed endpoint: one event (Standard Webhooks headers
    ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
    )
    id: str
    type: Literal[
        "approval.approved",
        "approval.expired",
        "approval.rejected",
        "approval.requested",
        "budget.exceeded",
        "budget.threshold",
        "issue.assigned",
        "issue.cancelled",
        "issue.created",
        "issue.done",
        "issue.failed",
        "issue.handoff",
        "issue.overdue",
        "issue.progress",
        "issue.reassigned",
        "issue.rejected",
        "issue.requeued",
        "issue.review",
        "issue.started",
    ]
    created_at: AwareDatetime
    company_id: str
    data: WebhookEventData
