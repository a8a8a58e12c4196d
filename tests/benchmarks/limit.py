"""The real limit: PostgreSQL's own C client (``pgbench``) running exactly the SQL the
commands worker issues for one issue's four transitions, at the same concurrency.

The statements are captured, not retyped: the same ``Applier`` the worker runs applies the
benchmark's transition mix (create → PATCH → assign → cancel) on a connection that records
every statement it sends (with its parameters bound, as psycopg would send them) and every
transaction boundary. Each id the mix made up becomes a pgbench variable, so each of
pgbench's runs works on an issue of its own, as each of the end-to-end clients does.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from domain import commands as c
from service.commands.envelope import Envelope
from service.commands.pipeline import Applier
from service.ids import new_id
from service.settings import Settings
from service.store.engine import make_engine
from tests.benchmarks.stack import CONCURRENCY, Bench, Figures, seconds

#: Transitions in one run of the script (one issue's create, PATCH, assign and cancel).
TRANSITIONS = 4
#: An id ``service.ids.new_id`` makes: a prefix, then 26 characters of Crockford base32.
ID = re.compile(r"\b([a-z]{2,6})_([0-9a-hjkmnp-tv-z]{26})\b")
TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


def limit(bench: Bench) -> Figures:
    agent = bench.ok("POST", "/agents", {"name": "limit-assignee", "capacity": 1000})
    statements = capture_transitions(bench.database_url, bench.company_id, agent["id"])
    script = pgbench_script(statements, keep={bench.company_id, agent["id"]})
    path = Path(tempfile.mkdtemp(prefix="agentq-limit-")) / "transitions.sql"
    path.write_text(script)
    bench.engine.dispose()  # its idle connections would count against max_connections
    done = subprocess.run(
        [
            "pgbench",
            "--no-vacuum",
            "--protocol=simple",  # the ids are variables inside literals (see pgbench_script)
            f"--client={CONCURRENCY}",
            "--jobs=2",
            f"--time={max(1, round(seconds(10)))}",
            f"--file={path}",
            bench.database_url,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    found = TPS.search(done.stdout)
    assert done.returncode == 0 and found, done.stdout[-2000:] + done.stderr[-2000:]
    sql = [s for s in statements if s not in ("BEGIN", "COMMIT")]
    return {
        "limit_transitions_per_s": float(found.group(1)) * TRANSITIONS,
        "limit_statements_per_transition": len(sql) / TRANSITIONS,
    }


def capture_transitions(database_url: str, company_id: str, agent_id: str) -> list[str]:
    """The statements (parameters bound) and transaction boundaries the ``Applier`` sends
    for one issue's four transitions, in order."""
    engine = make_engine(Settings(database_url=database_url), pool_size=1)
    try:
        applier = Applier(engine, lambda _to, _outcome: None)
        _mix(applier, company_id, agent_id)  # warm: the dialect's first-connect queries
        with _recording(engine) as statements:
            _mix(applier, company_id, agent_id)
        return statements
    finally:
        engine.dispose()


def _mix(applier: Applier, company_id: str, agent_id: str) -> None:
    """The end-to-end section's transitions, applied as the worker applies them."""

    def env(command: Any, status: int = 200) -> Envelope:
        return Envelope(new_id("cmd"), company_id, "user:bench", command, success_status=status)

    iid = new_id("iss")
    applier.apply(env(c.CreateIssue(iid, "bench"), 201))
    applier.apply(env(c.UpdateIssue(iid, frozenset({"title"}), title="bench, edited")))
    applier.apply(env(c.AssignIssue(iid, agent_id)))
    applier.apply(env(c.CancelIssue(iid, "bench")))


class _recording:
    """Record every statement and transaction boundary on ``engine`` while entered."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []
        self.hooks: list[tuple[str, Callable[..., None]]] = [
            ("before_cursor_execute", self._statement),
            ("begin", lambda _conn: self.statements.append("BEGIN")),
            ("commit", lambda _conn: self.statements.append("COMMIT")),
            ("rollback", lambda _conn: self.statements.append("ROLLBACK")),
            ("savepoint", lambda _conn, name: self.statements.append(f"SAVEPOINT {name}")),
            (
                "release_savepoint",
                lambda _conn, name, _ctx: self.statements.append(f"RELEASE SAVEPOINT {name}"),
            ),
            (
                "rollback_savepoint",
                lambda _conn, name, _ctx: self.statements.append(f"ROLLBACK TO SAVEPOINT {name}"),
            ),
        ]

    def __enter__(self) -> list[str]:
        for name, hook in self.hooks:
            event.listen(self.engine, name, hook)
        return self.statements

    def __exit__(self, *_exc: object) -> None:
        for name, hook in self.hooks:
            event.remove(self.engine, name, hook)

    def _statement(
        self,
        conn: Connection,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, psycopg.Connection)
        bind = psycopg.ClientCursor(raw).mogrify
        for params in parameters if executemany else [parameters]:
            self.statements.append(bind(statement, params or None))


def pgbench_script(statements: list[str], keep: set[str]) -> str:
    """``statements`` as a pgbench script: every id but those in ``keep`` (the company and
    the agent, which exist) becomes one unique to the client and the script's run. In simple
    protocol pgbench puts variables' values in place wherever ``:name`` appears, literals
    included."""
    ids: dict[str, str] = {}

    def unique(found: re.Match[str]) -> str:
        whole = found.group(0)
        if whole in keep:
            return whole
        k = ids.setdefault(whole, str(len(ids)))
        return f"{found.group(1)}_b:client_id-:run-{k}"

    body = [ID.sub(unique, s).replace("\n", " ") + ";" for s in statements]
    return "\\set run random(1, 999999999999)\n" + "\n".join(body) + "\n"
