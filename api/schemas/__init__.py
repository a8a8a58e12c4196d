"""Request bodies: camelCase, unknown fields refused, limits from docs/api.md."""

# One module per concept; this package re-exports every name the single module had, so
# ``from api.schemas import X`` works as before. ``__all__`` is the old module's: the
# shared field types and helpers are re-exported by name (``X as X``) but not starred.
from api.schemas.budgets import Budget as Budget
from api.schemas.budgets import BudgetCapBody
from api.schemas.bulk import BulkBody
from api.schemas.bulk import BulkId as BulkId
from api.schemas.common import DECIMAL_TEXT as DECIMAL_TEXT
from api.schemas.common import RFC3339 as RFC3339
from api.schemas.common import RFC3339_HINT as RFC3339_HINT
from api.schemas.common import Body as Body
from api.schemas.common import EmptyBody
from api.schemas.common import Ident as Ident
from api.schemas.common import Label as Label
from api.schemas.common import Name as Name
from api.schemas.common import NotNull as NotNull
from api.schemas.common import Reason as Reason
from api.schemas.common import UtcTime as UtcTime
from api.schemas.issues import (
    AssignBody,
    CancelBody,
    CommentCreate,
    IssueCreate,
    IssuePatch,
    ReassignBody,
)
from api.schemas.issues import RetryPolicyBody as RetryPolicyBody
from api.schemas.org import AgentCreate, AgentPatch, CompanyCreate, TeamCreate, TokenCreate
from api.schemas.webhooks import EventFilter as EventFilter
from api.schemas.webhooks import EventFilters as EventFilters
from api.schemas.webhooks import WebhookCreate, WebhookPatch
from api.schemas.webhooks import WebhookUrl as WebhookUrl
from api.schemas.work import (
    ApprovalDecisionBody,
    ApprovalRequestBody,
    CheckpointBody,
    ClaimBody,
    CompleteBody,
    CostBody,
    FailBody,
    HandoffBody,
    ReviewBody,
)
from api.schemas.work import ApprovalsDecideBody as ApprovalsDecideBody
from api.schemas.work import LeaseToken as LeaseToken
from api.schemas.work import TokenCount as TokenCount
from api.schemas.work import WorkspaceUrl as WorkspaceUrl

__all__ = [
    "AgentCreate",
    "AgentPatch",
    "ApprovalDecisionBody",
    "ApprovalRequestBody",
    "AssignBody",
    "BudgetCapBody",
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
