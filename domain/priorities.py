"""Issue priority: a field (``critical`` … ``low``, default ``medium``) that orders claims
and dispatch, highest first, then oldest. A ``priority:*`` label sets it too (the labels
came first): at create when no ``priority`` is given, and on a PATCH of the labels."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PRIORITIES", "Priority", "from_rank", "label_priority", "priority_of", "rank"]


class Priority(StrEnum):
    """Most urgent first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


#: The priorities, most urgent first (``priority:<p>`` labels name them).
PRIORITIES = tuple(p.value for p in Priority)
_RANKS = {p: len(PRIORITIES) - i for i, p in enumerate(Priority)}
_BY_RANK = {r: p for p, r in _RANKS.items()}


def priority_of(labels: tuple[str, ...]) -> int:
    """4 for ``priority:critical`` … 1 for ``priority:low``, 0 without a priority label."""
    ranks = [
        len(PRIORITIES) - PRIORITIES.index(label[9:])
        for label in labels
        if label.startswith("priority:") and label[9:] in PRIORITIES
    ]
    return max(ranks, default=0)


def label_priority(labels: tuple[str, ...]) -> Priority | None:
    """The most urgent priority the labels name, if any."""
    return _BY_RANK.get(priority_of(labels))


def rank(priority: Priority) -> int:
    """What the store orders claims by: 4 for ``critical`` … 1 for ``low``."""
    return _RANKS[priority]


def from_rank(value: int) -> Priority:
    """The priority of a stored rank (0, from before priority was a field: ``medium``)."""
    return _BY_RANK.get(value, Priority.MEDIUM)
