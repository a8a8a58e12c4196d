"""The kinds of resource agentq names by id, and what each is called where: one table.

Per kind: its name (what a 404 calls it), its id prefix (``iss`` makes ``iss_01j…``), the
table that holds it, the path parameter naming one in the API's routes, and the field a log
line carries its id in. Pure data: ids, the command log (``service.commands.pipeline``), the API's
access checks and request log read it here instead of keeping maps of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.ids import new_id

#: The kinds themselves are the ``Kind`` constants below, listed in ``KINDS``.
__all__ = [
    "BY_PATH_PARAM",
    "BY_PREFIX",
    "KINDS",
    "LOG_FIELDS",
    "OTHER_PATH_PARAMS",
    "Kind",
    "kind_of",
]


@dataclass(frozen=True, slots=True)
class Kind:
    #: What errors call it: ``issue iss_… not found``.
    name: str
    #: Its ids are ``<prefix>_<26 characters>``.
    prefix: str
    #: The table of ``service.store.tables`` that holds it.
    table: str
    #: The API's path parameter naming one (``/issues/{iid}``), if a route names one.
    path_param: str | None = None
    #: The field of a log line that carries its id, if log lines carry it.
    log_field: str | None = None

    def new_id(self) -> str:
        """A new id of this kind (``service.ids.new_id``)."""
        return new_id(self.prefix)


COMPANY = Kind("company", "cmp", "companies", "cid", "company_id")
ISSUE = Kind("issue", "iss", "issues", "iid", "issue_id")
COMMAND = Kind("command", "cmd", "applied_commands", "cmd_id", "command_id")
RUN = Kind("run", "run", "runs", "rid", "run_id")
BULK = Kind("bulk", "blk", "bulk_jobs", "bid", "bulk_id")
WEBHOOK = Kind("webhook", "whk", "webhook_endpoints", "wid", "webhook_id")
AGENT = Kind("agent", "agt", "agents", "aid", "agent_id")
TEAM = Kind("team", "tm", "teams", "tid")
TOKEN = Kind("token", "tok", "tokens", "tok_id")
APPROVAL = Kind("approval", "apr", "approvals", "apid")
DELIVERY = Kind("delivery", "dlv", "webhook_deliveries", "did")
COMMENT = Kind("comment", "cmt", "comments")
ACTIVITY = Kind("activity", "act", "activity")
COST = Kind("cost", "cost", "cost_events")
EVENT = Kind("event", "evt", "webhook_events")
ROUTINE = Kind("routine", "rtn", "routines", "rtid", "routine_id")

#: Every kind above, in that order.
KINDS: tuple[Kind, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Kind))
BY_PREFIX: dict[str, Kind] = {k.prefix: k for k in KINDS}
BY_PATH_PARAM: dict[str, Kind] = {k.path_param: k for k in KINDS if k.path_param is not None}
#: Path parameters that name no one kind: a budget's scope, and the id of what it caps (an
#: agent's, a team's or the company's, looked up by ``service.commands.handlers.budgets``).
OTHER_PATH_PARAMS = frozenset({"budget_scope", "sid"})
#: The id fields log lines carry, in the order ``service.observability.logs.ID_FIELDS`` puts
#: them (and agent_id).
LOG_FIELDS: tuple[str, ...] = tuple(k.log_field for k in KINDS if k.log_field is not None)


def kind_of(ident: str) -> Kind | None:
    """The kind an id's prefix names (None for a string that is no kind's id)."""
    prefix, underscore, _ = ident.partition("_")
    return BY_PREFIX.get(prefix) if underscore else None
