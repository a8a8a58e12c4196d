"""What the API answers, as the OpenAPI document describes it (``api.openapi``).

The handlers build their answers as plain JSON (``service.views`` and friends); these models
only document those shapes, for clients and for the schema fuzz test, which checks every
answer against them. Fields are camelCase on the wire; unknown extra fields are allowed, so
an answer may grow a field without breaking a client. Free-form JSON that an agent or a
user chose (checkpoint state, results, details) is an open object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from domain.approvals import ApprovalStatus
from domain.model import AgentStatus
from domain.runs import ExitReason
from domain.statuses import IssueStatus
from service.problems import HTTP_STATUS

__all__ = [
    "Accepted",
    "ActivityPage",
    "Agent",
    "AgentPage",
    "Approval",
    "ApprovalPage",
    "BulkJob",
    "BulkStarted",
    "Checkpointed",
    "Claimed",
    "CommandStatus",
    "Comment",
    "CommentPage",
    "Company",
    "CostReported",
    "CostRollup",
    "Delivery",
    "DeliveryPage",
    "Health",
    "Issue",
    "IssuePage",
    "NewToken",
    "NewWebhook",
    "Problem",
    "Run",
    "RunPage",
    "Team",
    "TeamPage",
    "Token",
    "Webhook",
    "WebhookPage",
]

#: Money: a JSON number with the exact decimal digits (at most 6 decimal places).
Usd = float
Time = datetime
Json = dict[str, Any]


class Answer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class FieldProblem(Answer):
    """One refused field: where (``["body", "title"]``, ``["query", "limit"]``…) and why."""

    loc: list[str | int]
    msg: str


class Problem(Answer):
    """An RFC 9457 problem: every error answer (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    code: Annotated[str, Field(json_schema_extra={"enum": sorted(HTTP_STATUS)})]
    #: ``invalid_request``: each refused field.
    errors: list[FieldProblem] | None = None
    #: ``invalid_transition``, ``frozen``, ``not_editable``: the status it is in.
    current_status: str | None = None
    #: ``stale_lease`` of a run someone else ended: the agent should stop.
    stop: bool | None = None
    stop_reason: str | None = None


class Accepted(Answer):
    """Accepted: the command is queued; `Location` is `GET …/commands/{commandId}`."""

    command_id: str
    status: Literal["accepted"]


class CommandStatus(Answer):
    id: str
    status: Literal["accepted", "applied", "rejected"]
    #: ``applied``: the answer the write would have had.
    result: Any = None
    #: ``rejected``: the problem.
    error: Problem | None = None


class Health(Answer):
    status: Literal["ok", "ready"]


class Index(Answer):
    """``GET /``: where to read about the API."""

    name: Literal["agentq"]
    docs: str
    openapi: str
    reference: str


class Spent(Answer):
    usd: Usd | None


class IssueBudget(Answer):
    per_task_usd: Usd | None
    spent: Spent


class Issue(Answer):
    id: str
    company_id: str
    title: str
    description: str | None
    status: IssueStatus
    parent_id: str | None
    assigned_agent_id: str | None
    assigned_team_id: str | None
    budget: IssueBudget
    due_at: Time | None
    labels: list[str]
    dependencies: list[str]
    current_run_id: str | None
    created_at: Time
    updated_at: Time
    version: int
    blocked_by: list[str]
    pending_approvals: list[str]
    attempts: int
    max_attempts: int
    #: ``cancel`` with ``cascade``: the live children whose cancellation was queued.
    cancelled_children: list[str] | None = None


class Company(Answer):
    id: str
    name: str
    created_at: Time


class Team(Answer):
    id: str
    company_id: str
    name: str
    created_at: Time


class Agent(Answer):
    id: str
    company_id: str
    name: str
    status: AgentStatus
    capacity: int
    active_runs: int
    team_ids: list[str]
    created_at: Time
    updated_at: Time


class Token(Answer):
    id: str
    company_id: str
    role: Literal["admin", "agent"]
    agent_id: str | None
    created_at: Time


class NewToken(Token):
    """Created: the plaintext `token` is shown once, in this answer (not when an
    `Idempotency-Key` replays it: only the token's hash is stored)."""

    token: str | None = None


class Comment(Answer):
    id: str
    issue_id: str
    text: str
    author: str
    created_at: Time


class Lease(Answer):
    token: str
    granted_at: Time
    expires_at: Time
    renewals: int
    released_at: Time | None
    release_reason: str | None


class RunCost(Answer):
    usd: Usd | None
    input_tokens: int
    output_tokens: int


class Run(Answer):
    id: str
    issue_id: str
    agent_id: str
    attempt: int
    status: Literal["active", "ended"]
    started_at: Time
    ended_at: Time | None
    lease_history: list[Lease]
    final_checkpoint: Json | None
    cost: RunCost
    exit_reason: ExitReason | None
    exit_details: Json | None
    workspace_url: str | None


class LeaseGrant(Answer):
    token: str
    expires_at: Time


class Claimed(Answer):
    issue: Issue
    run: Run
    lease: LeaseGrant


class Approval(Answer):
    id: str
    issue_id: str
    run_id: str
    agent_id: str
    action: str
    details: Json | None
    status: ApprovalStatus
    comment: str | None
    decided_by: str | None
    decided_at: Time | None
    created_at: Time


class Checkpointed(Answer):
    lease: LeaseGrant
    #: Comments by others since the agent's last checkpoint.
    comments: list[Comment]
    stop: bool
    stop_reason: str | None = None
    approvals: list[Approval]


class CostReported(Answer):
    id: str
    issue_id: str
    run_id: str
    cost: RunCost
    budget: IssueBudget
    stop: bool
    stop_reason: str | None = None


class Amounts(Answer):
    usd: Usd | None
    input_tokens: int
    output_tokens: int
    reports: int


class CostGroup(Amounts):
    key: str | None


class CostRollup(Answer):
    group_by: str
    since: Time | None
    until: Time | None
    total: Amounts
    data: list[CostGroup]
    next_cursor: str | None
    has_more: bool


class ActivityEntry(Answer):
    id: str
    at: Time
    issue_id: str
    type: str
    from_status: str | None
    to_status: str | None
    actor: str
    reason: str | None
    version: int | None
    command_id: str | None


class Webhook(Answer):
    id: str
    company_id: str
    url: str
    events: list[str]
    description: str | None
    disabled: bool
    disabled_reason: str | None
    created_at: Time
    updated_at: Time


class NewWebhook(Webhook):
    """Created: the signing `secret` (`whsec_…`) is shown once, in this answer (not when an
    `Idempotency-Key` replays it)."""

    secret: str | None = None


class Delivery(Answer):
    id: str
    webhook_id: str
    event_id: str
    event_type: str | None
    status: str
    attempt: int
    response_status: int | None
    duration_ms: int | None
    last_error: str | None
    next_attempt_at: Time | None
    created_at: Time
    updated_at: Time


class BulkResult(Answer):
    id: str
    ok: bool
    #: ``ok``: the issue's new status.
    status: str | None = None
    #: not ``ok``: why this one failed.
    error: Problem | None = None


class BulkJob(Answer):
    id: str
    status: Literal["running", "done"]
    op: Literal["assign", "cancel", "reassign"] | None = None
    total: int
    succeeded: int | None = None
    failed: int | None = None
    #: Once ``done``: the outcome of each id, in the order of ``ids``.
    results: list[BulkResult] | None = None


class BulkStarted(Answer):
    """Accepted: the bulk goes on; `Location` is `GET …/bulk/{id}`."""

    id: str
    status: Literal["running"]
    total: int


class Page(Answer):
    next_cursor: str | None
    has_more: bool


class IssuePage(Page):
    data: list[Issue]


class CommentPage(Page):
    data: list[Comment]


class RunPage(Page):
    data: list[Run]


class TeamPage(Page):
    data: list[Team]


class AgentPage(Page):
    data: list[Agent]


class WebhookPage(Page):
    data: list[Webhook]


class DeliveryPage(Page):
    data: list[Delivery]


class ApprovalPage(Page):
    data: list[Approval]


class ActivityPage(Page):
    data: list[ActivityEntry]
