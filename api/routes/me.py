"""``GET /v1/me``: who the caller's token is, so a client never has to be told its company.

An SDK is given a URL and a token; the company (and, for an agent token, the agent) come
from here. The operator token belongs to no company: it says so (``companyId: null``), and a
client acting as the operator names the company itself.
"""

from __future__ import annotations

from typing import Literal

from litestar import Response, get

from api.io import json_response
from api.openapi import reads
from api.routing import Who, any_token
from service.answers.common import Answer, wire

__all__ = ["ROUTES", "Me", "me"]


class Me(Answer):
    """The caller: its role, its company (none for the operator) and, for an agent token,
    its agent."""

    role: Literal["operator", "admin", "agent"]
    #: ``null`` for the operator token, which acts in every company.
    company_id: str | None
    #: The agent an agent token drives; ``null`` otherwise.
    agent_id: str | None
    #: The token's id (``tok_…``; the id ``DELETE …/tokens/{tokId}`` revokes); ``null`` for
    #: the operator token, which is a setting, not a stored token.
    token_id: str | None


@get(
    "/v1/me",
    guards=[any_token],
    operation_id="me_get",
    tags=["tokens"],
    **reads((401, 429, 503)),
)
async def me(who: Who) -> Response[Me]:
    """Who this token is

    The token's `role` (`operator`, `admin` or `agent`), its `companyId` (`null` for the
    operator token, which acts in every company) and, for an agent token, its `agentId`:
    what a client needs to address everything else."""
    answer = Me(
        role=who.kind,  # type: ignore[arg-type]  # Principal.kind is one of the three
        company_id=who.company_id,
        agent_id=who.agent_id,
        token_id=who.token_id,
    )
    return json_response(wire(answer))


ROUTES = [me]
