"""The Python client of agentq: ``Client`` and ``AsyncClient`` (one method per operation of
the API's OpenAPI document, typed), the agent loop (``client.agent()``), typed errors, and
``agentq_client.webhooks.verify``. See sdk/README.md and docs/sdk.md in the repository."""

from agentq_client._async_agent import AsyncAgent, AsyncClaim
from agentq_client._async_client import AsyncClient
from agentq_client._async_ops_events import AsyncEventStream
from agentq_client._async_work import AsyncWork
from agentq_client._http import RetryPolicy
from agentq_client._sync_agent import Agent, Claim
from agentq_client._sync_client import Client
from agentq_client._sync_ops_events import EventStream
from agentq_client._sync_work import Work
from agentq_client.errors import (
    AgentqError,
    AgentUnavailable,
    ApiError,
    AtCapacity,
    Blocked,
    BudgetExhausted,
    CommandPending,
    Conflict,
    Forbidden,
    Frozen,
    IdempotencyConflict,
    InvalidRequest,
    InvalidTransition,
    NotEditable,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    RunStopped,
    ServerError,
    StaleLease,
    TransportFailed,
    Unauthorized,
    Unavailable,
)

__all__ = [
    "Agent",
    "AgentUnavailable",
    "AgentqError",
    "ApiError",
    "AsyncAgent",
    "AsyncClaim",
    "AsyncClient",
    "AsyncEventStream",
    "AsyncWork",
    "AtCapacity",
    "Blocked",
    "BudgetExhausted",
    "Claim",
    "Client",
    "CommandPending",
    "Conflict",
    "EventStream",
    "Forbidden",
    "Frozen",
    "IdempotencyConflict",
    "InvalidRequest",
    "InvalidTransition",
    "NotEditable",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RateLimited",
    "RetryPolicy",
    "RunStopped",
    "ServerError",
    "StaleLease",
    "TransportFailed",
    "Unauthorized",
    "Unavailable",
    "Work",
]

__version__ = "0.1.0"
