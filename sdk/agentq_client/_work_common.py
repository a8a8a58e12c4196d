"""What the thread-based ``Work`` and the asyncio ``AsyncWork`` share: reading a
checkpoint's news, the reasons a run ends with when its block does not end it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from agentq_client.models import Approval, Checkpointed, Comment

__all__ = [
    "FAIL_REASON_CHARS",
    "InboxItem",
    "News",
    "failure_reason",
    "news",
    "usd_text",
]

log = logging.getLogger("agentq_client")

#: What a checkpoint brings to ``work.inbox``: comments, and approval decisions.
InboxItem = Comment | Approval
#: The API takes a failure reason of at most this many characters.
FAIL_REASON_CHARS = 2000
#: The reason a block that ended without ending its run fails it with.
UNFINISHED = "the agent's work block ended without complete(), fail() or handoff()"
#: The reason work claimed after a shutdown began is handed back with.
SHUTTING_DOWN = "the agent is shutting down; handed back unstarted"


@dataclass
class News:
    """What one checkpoint answer brought."""

    items: list[InboxItem] = field(default_factory=list)
    decisions: list[Approval] = field(default_factory=list)
    stop_reason: str | None = None


def news(answer: Checkpointed, seen: Mapping[str, Approval]) -> News:
    """The comments, the decisions not seen before (a pending approval is listed at every
    checkpoint; a decision once) and the stop, of a checkpoint answer."""
    out = News(items=list(answer.comments))
    for approval in answer.approvals:
        if approval.status != "pending" and approval.id not in seen:
            out.decisions.append(approval)
            out.items.append(approval)
    if answer.stop:
        out.stop_reason = answer.stop_reason or "stopped"
    return out


def failure_reason(exc: BaseException) -> str:
    """The reason a run is failed with when its block raised ``exc``."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:FAIL_REASON_CHARS]


def usd_text(usd: Decimal | float | str) -> str:
    """Money as the API takes it: a plain decimal string (``1e-05`` would be refused), the
    float's shortest digits (``0.1``, not ``0.1000000000000000055``)."""
    amount = usd if isinstance(usd, Decimal) else Decimal(str(usd))
    return format(amount, "f")
