"""The envelope a command travels in, and its JSON codec (pydantic over the domain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from domain import commands as c

__all__ = ["Envelope", "Idempotency", "Outcome", "decode", "encode"]

#: Command class name (what travels on the wire) -> its codec.
_ADAPTERS = {name: TypeAdapter(cls) for name, cls in c.COMMANDS.items()}


@dataclass(frozen=True, slots=True)
class Idempotency:
    """An ``Idempotency-Key`` and the hash of the request it first came with."""

    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class Envelope:
    """A command plus who asked, for which company, and where the answer goes."""

    command_id: str
    company_id: str | None
    actor: str
    command: c.Command
    #: HTTP status of a success (201 for creates, 200 otherwise, 204 for deletes).
    success_status: int = 200
    #: ``If-Match``: the issue version the caller saw.
    expected_version: int | None = None
    idempotency: Idempotency | None = None
    #: Result channel of the API process that waits for the answer.
    reply_to: str | None = None
    #: The operator may name a company that does not exist: check it before applying.
    check_company: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command answered: an HTTP status and a JSON body (a resource or a problem)."""

    command_id: str
    applied: bool
    http_status: int
    body: Any
    #: The company in which work became claimable (wakes long-polling claims), if any.
    work_company: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "commandId": self.command_id,
            "applied": self.applied,
            "httpStatus": self.http_status,
            "body": self.body,
            "workCompany": self.work_company,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        return cls(
            data["commandId"],
            data["applied"],
            data["httpStatus"],
            data["body"],
            data.get("workCompany"),
        )


def encode(env: Envelope) -> dict[str, Any]:
    name = type(env.command).__name__
    return {
        "commandId": env.command_id,
        "companyId": env.company_id,
        "actor": env.actor,
        "type": name,
        "command": _ADAPTERS[name].dump_python(env.command, mode="json"),
        "successStatus": env.success_status,
        "expectedVersion": env.expected_version,
        "idempotency": (
            [env.idempotency.scope, env.idempotency.key, env.idempotency.request_hash]
            if env.idempotency
            else None
        ),
        "replyTo": env.reply_to,
        "checkCompany": env.check_company,
    }


def decode(data: dict[str, Any]) -> Envelope:
    idem = data.get("idempotency")
    return Envelope(
        command_id=data["commandId"],
        company_id=data["companyId"],
        actor=data["actor"],
        command=_ADAPTERS[data["type"]].validate_python(data["command"]),
        success_status=data["successStatus"],
        expected_version=data["expectedVersion"],
        idempotency=Idempotency(*idem) if idem else None,
        reply_to=data["replyTo"],
        check_company=data.get("checkCompany", False),
    )
