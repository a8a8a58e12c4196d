"""Which handler applies each command: every handler says so with ``@handles(TheCommand)``.

A new use case is one command class (``domain.commands``) and one handler here, decorated;
``tests/unit/test_registries.py`` checks that every command has its handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from domain.commands import Command
from service.commands.context import Context

__all__ = ["HANDLERS", "Handler", "handles"]

C = TypeVar("C", bound=Command)
R = TypeVar("R")

Handler = Callable[[Any, Context], Any]

#: Command class -> the handler that applies it (filled as the handler modules load).
HANDLERS: dict[type[Command], Handler] = {}


def handles(kind: type[C]) -> Callable[[Callable[[C, Context], R]], Callable[[C, Context], R]]:
    """Register the decorated function as the handler of ``kind`` (one handler a command)."""

    def register(handler: Callable[[C, Context], R]) -> Callable[[C, Context], R]:
        if kind in HANDLERS:
            raise RuntimeError(f"{kind.__name__} already has a handler: {HANDLERS[kind]}")
        HANDLERS[kind] = handler
        return handler

    return register
