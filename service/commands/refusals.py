"""How a command's refusal becomes the outcome it stores, and the ids of its log line.

Shared by the pipeline (``Applier``, a command a transaction), the batches (a command a
savepoint) and a bulk slice (an item a savepoint), so that a command refused in any of them
stores the very problem body it would store alone."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from domain.errors import DomainError, InvalidRequest
from service.commands.envelope import Envelope, Outcome
from service.kinds import kind_of
from service.problems import problem, problem_from_error
from service.store.repo import ConcurrentUpdate

__all__ = ["Refused", "log_ids", "refusals"]

# The pipeline's logger: a refusal logs as the command it refuses, wherever it is applied.
log = logging.getLogger("agentq.pipeline")


def log_ids(env: Envelope, outcome: Outcome | None = None) -> dict[str, Any]:
    """The ids of a command's log line: command, company, the entity it is applied to
    (``issue_id`` for an issue's commands), its run if it names one."""
    ids: dict[str, Any] = {"command_id": env.command_id, "company_id": env.company_id}
    key = env.command.shard_key
    kind = kind_of(key)
    if kind is not None and kind.log_field is not None:
        ids[kind.log_field] = key
    run_id = getattr(env.command, "run_id", None)
    if run_id is not None:
        ids["run_id"] = run_id
    # A claim is applied on the agent's shard: the issue it took is in its answer.
    if outcome is not None and outcome.applied and isinstance(outcome.body, dict):
        issue = outcome.body.get("issue")
        if isinstance(issue, dict) and "issue_id" not in ids:
            ids["issue_id"] = issue.get("id")
    return ids


class Refused(Exception):
    """The handler refused the command: roll its transaction back, store ``outcome``."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.http_status)
        self.outcome = outcome


@contextmanager
def refusals(env: Envelope) -> Iterator[None]:
    """What a handler (or its outbox) raises, as the refusal to store: a domain error as its
    problem, a value the database cannot hold as 422, a bug as 500 (logged). Lost races and
    database errors go on up, to be retried by ``Applier.apply``."""
    try:
        yield
    except DomainError as error:
        status, answer = problem_from_error(error)
        raise Refused(Outcome(env.command_id, False, status, answer)) from error
    except DataError as error:
        # A value the database cannot hold that validation let through: refuse it.
        log.warning("database refused a value: %s", error.orig)
        status, answer = problem_from_error(
            InvalidRequest.at([], "a value in the request cannot be stored")
        )
        raise Refused(Outcome(env.command_id, False, status, answer)) from error
    except (ConcurrentUpdate, IntegrityError, OperationalError):
        raise  # retried by ``apply``
    except Exception as error:
        # A bug: answer it (and log it) rather than leave the caller waiting for ever.
        log.exception(
            "command %s failed",
            env.command_id,
            extra={"action": "command_error", **log_ids(env)},
        )
        status, answer = problem("internal_error", "the command failed unexpectedly; logged")
        raise Refused(Outcome(env.command_id, False, status, answer)) from error
