"""The query parameters that pick activity entries, read alike by the trail's list
(``GET …/activity``) and the company's event stream (``GET …/events``)."""

from __future__ import annotations

from domain.errors import InvalidRequest
from domain.events import ACTIVITY_TYPES, ISSUE_ACTIVITY_TYPES
from service.reads.activity import Scope

__all__ = ["SCOPES", "entry_scope", "entry_type"]

#: The values ``scope`` takes, for the document.
SCOPES = [s.value for s in Scope]


def entry_type(value: str | None) -> str | None:
    """``type``: one of the activity types, or None."""
    if value is not None and value not in ACTIVITY_TYPES:
        raise InvalidRequest.at(["query", "type"], f"one of {', '.join(sorted(ACTIVITY_TYPES))}")
    return value


def entry_scope(value: str | None, issue_id: str | None, type: str | None) -> Scope:
    """``scope`` (default ``issue``: what the trail answered before it held company entries),
    refusing a combination that could only ever answer nothing: an issue's id or an issue's
    type with ``scope=company``, a company's type with ``scope=issue``."""
    if value is None:
        scope = Scope.ISSUE
    elif value in SCOPES:
        scope = Scope(value)
    else:
        raise InvalidRequest.at(["query", "scope"], f"one of {', '.join(SCOPES)}")
    if scope is Scope.COMPANY and issue_id is not None:
        raise InvalidRequest.at(
            ["query", "issueId"],
            "the company's entries are about no issue: leave issueId out, or use scope=issue",
        )
    if type is not None and scope is not Scope.ALL:
        of_issue = type in ISSUE_ACTIVITY_TYPES
        if of_issue != (scope is Scope.ISSUE):
            wanted = "issue" if of_issue else "company"
            raise InvalidRequest.at(
                ["query", "type"],
                f"{type} entries are {'an issue' if of_issue else 'the company'}'s: "
                f"use scope={wanted} or scope=all"
                + ("" if value is not None else " (the default scope is issue)"),
            )
    return scope
