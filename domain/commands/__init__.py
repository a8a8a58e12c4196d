"""Commands: what a caller asks for, in the imperative. Plain frozen values.

Every command names the entity whose shard serializes it (``shard_key``): commands
for one issue are applied one at a time, in order.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.commands.base import Command, CommandStatus
from domain.commands.issues import (
    ApplyBulkSlice,
    AssignIssue,
    CancelIssue,
    CreateIssue,
    MarkOverdue,
    PostComment,
    ReassignIssue,
    StartBulk,
    UpdateIssue,
)
from domain.commands.org import (
    CreateAgent,
    CreateCompany,
    CreateTeam,
    CreateToken,
    CreateWebhook,
    DeleteWebhook,
    RedeliverWebhook,
    RevokeToken,
    UpdateAgent,
    UpdateWebhook,
)
from domain.commands.oversight import (
    DecideApproval,
    DeleteBudget,
    ExpireApproval,
    ReportCost,
    RequestApproval,
    SetBudget,
)
from domain.commands.routines import CreateRoutine, DeleteRoutine, FireRoutine, UpdateRoutine
from domain.commands.runs import (
    ClaimWork,
    CompleteRun,
    DispatchIssue,
    ExpireLease,
    FailRun,
    HandoffRun,
    ReactToDependency,
    RecordCheckpoint,
    ReviewIssue,
)

#: Every command, by class name (the name the envelope carries on the wire): every subclass
#: of ``Command`` in the modules above.
COMMANDS: Mapping[str, type[Command]] = {cls.__name__: cls for cls in Command.__subclasses__()}

__all__ = [
    "COMMANDS",
    "ApplyBulkSlice",
    "AssignIssue",
    "CancelIssue",
    "ClaimWork",
    "Command",
    "CommandStatus",
    "CompleteRun",
    "CreateAgent",
    "CreateCompany",
    "CreateIssue",
    "CreateRoutine",
    "CreateTeam",
    "CreateToken",
    "CreateWebhook",
    "DecideApproval",
    "DeleteBudget",
    "DeleteRoutine",
    "DeleteWebhook",
    "DispatchIssue",
    "ExpireApproval",
    "ExpireLease",
    "FailRun",
    "FireRoutine",
    "HandoffRun",
    "MarkOverdue",
    "PostComment",
    "ReactToDependency",
    "ReassignIssue",
    "RecordCheckpoint",
    "RedeliverWebhook",
    "ReportCost",
    "RequestApproval",
    "ReviewIssue",
    "RevokeToken",
    "SetBudget",
    "StartBulk",
    "UpdateAgent",
    "UpdateIssue",
    "UpdateRoutine",
    "UpdateWebhook",
]
