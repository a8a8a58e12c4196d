"""What every command is: a frozen value naming the entity whose shard applies it, and how
one ended."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

__all__ = ["Command", "CommandStatus"]


class CommandStatus(StrEnum):
    """How a command ended, once applied exactly once (its stored outcome says the rest)."""

    APPLIED = "applied"  #: it changed what it asked to change
    REJECTED = "rejected"  #: it was refused; nothing changed

    @classmethod
    def of(cls, applied: bool) -> CommandStatus:
        return cls.APPLIED if applied else cls.REJECTED


class Command:
    """A command. Each is a frozen dataclass subclassing this; its class name is its type."""

    __slots__ = ()
    #: The field holding the id of the entity whose shard applies the command.
    shard_field: ClassVar[str]

    @property
    def shard_key(self) -> str:
        """The id of the entity whose shard applies the command, in order with its others."""
        key: str = getattr(self, self.shard_field)
        return key
