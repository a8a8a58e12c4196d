"""Who did something: the actor of activity entries, events, comments and commands.

Wherever an actor is stored or sent it is the string ``<kind>:<name>`` (``agent:agt_…``,
``user:operator``, ``user:tok_…``, ``system:dispatcher``): ``str(actor)``. Those strings are
made and read here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Actor", "ActorKind"]


class ActorKind(StrEnum):
    AGENT = "agent"  #: an agent: its token, or a comment written as it
    USER = "user"  #: a person: the operator, a company's admin token, a comment's author
    SYSTEM = "system"  #: agentq itself: the dispatcher, the lease sweeper, the budget cap


_KINDS = frozenset(ActorKind)


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def agent(cls, agent_id: str) -> Actor:
        return cls(ActorKind.AGENT, agent_id)

    @classmethod
    def user(cls, name: str) -> Actor:
        return cls(ActorKind.USER, name)

    @classmethod
    def operator(cls) -> Actor:
        """Whoever holds the operator token (``user:operator``)."""
        return cls.user("operator")

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(ActorKind.SYSTEM, name)

    @classmethod
    def parse(cls, text: str) -> Actor | None:
        """The actor ``text`` writes, or None when it is not ``<kind>:<name>``."""
        kind, colon, name = text.partition(":")
        if not colon or kind not in _KINDS:
            return None
        return cls(ActorKind(kind), name)

    @property
    def agent_id(self) -> str | None:
        """The agent's id, when the actor is an agent."""
        return self.name if self.kind is ActorKind.AGENT else None
