"""Commands applied in batches (issue 16, item 2): a batch of N gives what N batches of one
give, and each command of a batch keeps its own guarantees (refusal, race, redelivery,
unreachable database, its own time, outcomes published after the commit).

The differential test runs the same random streams of commands on two fresh databases: one
applied a command at a time (``Applier.apply``), the other in random batches
(``BatchApplier.apply_batch``), with the same ids and one fixed clock, and compares every
outcome, the issues (their versions), runs, leases, comments, activity and webhook events."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from domain import commands as c
from service.clock import utc_now
from service.commands.batches import BatchApplier
from service.commands.envelope import Envelope, Idempotency, Outcome
from service.commands.registry import HANDLERS
from service.ids import new_id
from service.settings import Settings
from service.store import tables as t
from service.store.engine import make_engine
from service.store.repo import ConcurrentUpdate
from tests.conftest import PG_HOST, PG_PORT, _psql
from tests.procs import ServiceUrls

ISSUES, AGENTS = 3, 2
_SECRET = "whsec_" + "A" * 32


@pytest.fixture(scope="module")
def two_databases(service_urls: ServiceUrls) -> Iterator[tuple[Engine, Engine]]:
    """Two fresh, migrated databases of their own: the same ids can be used in both."""
    from service.migrate import upgrade

    names = [f"agentq_test_batch_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    engines = []
    for name in names:
        _psql(f'CREATE DATABASE "{name}"')
        url = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"
        upgrade(Settings(database_url=url))
        engines.append(make_engine(Settings(database_url=url), pool_size=2))
    try:
        yield engines[0], engines[1]
    finally:
        for engine in engines:
            engine.dispose()
        for name in names:
            _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Published:
    """A publisher that notes each call (``many`` a batch at a time), and what the database
    held for each outcome when it was published."""

    engine: Engine
    calls: list[list[Outcome]] = field(default_factory=list)
    committed_at_publish: list[bool] = field(default_factory=list)

    def __call__(self, _reply_to: str | None, outcome: Outcome) -> None:
        self.many([(None, outcome)])

    def many(self, answers: list[tuple[str | None, Outcome]]) -> None:
        self.calls.append([outcome for _, outcome in answers])
        with self.engine.connect() as conn:
            ids = [outcome.command_id for _, outcome in answers]
            found = conn.execute(
                sa.select(sa.func.count()).where(t.applied_commands.c.id.in_(ids))
            ).scalar_one()
        self.committed_at_publish.append(found == len(set(ids)))


# --- the random streams -----------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """The ids of one example (the same in both databases)."""

    company: str
    issues: tuple[str, ...]
    agents: tuple[str, ...]

    @classmethod
    def new(cls) -> World:
        return cls(
            new_id("cmp"),
            tuple(new_id("iss") for _ in range(ISSUES)),
            tuple(new_id("agt") for _ in range(AGENTS)),
        )


Step = Callable[[World], Envelope]
_KEYS = itertools.count()


def _env(world: World, command: Any, status: int = 200, **extra: Any) -> Envelope:
    return Envelope(new_id("cmd"), world.company, "user:test", command, status, **extra)


def _steps() -> st.SearchStrategy[Step]:
    issue = st.integers(0, ISSUES - 1)
    agent = st.integers(0, AGENTS - 1)
    return st.one_of(
        issue.map(
            lambda i: (
                lambda w: _env(w, c.CreateIssue(w.issues[i], f"issue {i}", labels=("x",)), 201)
            )
        ),
        st.tuples(issue, st.text("abc ", min_size=1, max_size=5)).map(
            lambda a: lambda w: _env(w, c.UpdateIssue(w.issues[a[0]], frozenset({"title"}), a[1]))
        ),
        st.tuples(issue, st.integers(1, 3)).map(
            lambda a: (
                lambda w: _env(
                    w,
                    c.UpdateIssue(w.issues[a[0]], frozenset({"title"}), title="if-match"),
                    expected_version=a[1],
                )
            )
        ),
        st.tuples(issue, agent).map(
            lambda a: lambda w: _env(w, c.AssignIssue(w.issues[a[0]], w.agents[a[1]]))
        ),
        issue.map(lambda i: lambda w: _env(w, c.CancelIssue(w.issues[i], "random"))),
        issue.map(
            lambda i: (
                lambda w: _env(w, c.PostComment(new_id("cmt"), w.issues[i], "hi", "user:test"), 201)
            )
        ),
        agent.map(lambda a: lambda w: _env(w, c.ClaimWork(w.agents[a], new_id("run")))),
    )


@dataclass(frozen=True)
class Stream:
    envelopes: tuple[Envelope, ...]
    cuts: tuple[int, ...]  # batch sizes, in order, summing to len(envelopes)


@st.composite
def streams(draw: st.DrawFn) -> tuple[World, Stream]:
    world = World.new()
    steps = draw(st.lists(_steps(), min_size=1, max_size=24))
    envelopes: list[Envelope] = []
    for step in steps:
        env = step(world)
        twist = draw(st.sampled_from(["plain", "plain", "plain", "key", "copy"]))
        if twist == "key" and envelopes:  # an Idempotency-Key, sometimes one used before
            key = f"k{next(_KEYS) if draw(st.booleans()) else 0}-{world.company}"
            env = Envelope(
                env.command_id,
                env.company_id,
                env.actor,
                env.command,
                env.success_status,
                env.expected_version,
                Idempotency(world.company, key, draw(st.sampled_from(["h1", "h2"]))),
            )
        envelopes.append(env)
        if twist == "copy":  # the broker hands the same message over again
            envelopes.append(draw(st.sampled_from(envelopes)))
    cuts: list[int] = []
    left = len(envelopes)
    while left:
        size = draw(st.integers(1, min(left, 8)))
        cuts.append(size)
        left -= size
    return world, Stream(tuple(envelopes), tuple(cuts))


# --- what the two databases hold ----------------------------------------------------------


def _setup(world: World) -> list[Envelope]:
    return [
        _env(world, c.CreateCompany(world.company, "Batch"), 201),
        _env(
            world,
            c.CreateWebhook(
                new_id("whk"), "https://example.com/h", ("issue.*",), "whsec_" + "A" * 32
            ),
            201,
        ),
        *(
            _env(world, c.CreateAgent(agent, f"agent {i}", capacity=2), 201)
            for i, agent in enumerate(world.agents)
        ),
    ]


def _state(engine: Engine, world: World) -> dict[str, Any]:
    """The company's rows, without what is random by design (row ids of activity entries
    and webhook events) or set by each database alone (stream positions)."""
    company = world.company
    with engine.connect() as conn:

        def rows(table: sa.Table, *order: str, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
            query = sa.select(table).where(table.c.company_id == company)
            keep = [col for col in table.c if col.name not in drop]
            found = conn.execute(query.with_only_columns(*keep).order_by(*order)).mappings()
            return [dict(row) for row in found]

        return {
            "issues": rows(t.issues, "id"),
            "runs": rows(t.runs, "id"),
            "comments": rows(t.comments, "id"),
            "applied": rows(t.applied_commands, "id"),
            "activity": rows(t.activity, "stream_pos", drop=("id", "stream_pos")),
            "events": [
                _without_event_ids(row)
                for row in rows(t.webhook_events, "created_at", "id", drop=("id",))
            ],
        }


def _without_event_ids(row: dict[str, Any]) -> dict[str, Any]:
    payload = dict(row["payload"])
    payload.pop("id", None)
    return {**row, "payload": payload}


def _outcomes(results: list[Any]) -> list[Any]:
    """What each command answered, or the error it raised after its retries (an issue
    created twice under two command ids: its id is taken)."""
    return [
        type(o).__name__ if isinstance(o, Exception) else (o.applied, o.http_status, o.body)
        for o in results
    ]


def _apply_alone(applier: BatchApplier, env: Envelope) -> Outcome | Exception:
    try:
        return applier.apply(env)
    except Exception as error:
        return error


@given(example=streams())
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_stream_applied_in_batches_answers_and_writes_exactly_what_it_does_one_at_a_time(
    two_databases: tuple[Engine, Engine], example: tuple[World, Stream]
) -> None:
    world, stream = example
    moment = utc_now()
    one_engine, many_engine = two_databases
    one = BatchApplier(one_engine, lambda *_: None, clock=lambda: moment)
    many_published = Published(many_engine)
    many = BatchApplier(many_engine, many_published, clock=lambda: moment)
    for env in _setup(world):
        assert one.apply(env).applied and many.apply(env).applied

    alone = [_apply_alone(one, env) for env in stream.envelopes]
    together: list[Any] = []
    start = 0
    for size in stream.cuts:
        together.extend(many.apply_batch(stream.envelopes[start : start + size]))
        start += size

    assert _outcomes(together) == _outcomes(alone)
    assert _state(many_engine, world) == _state(one_engine, world)
    assert all(many_published.committed_at_publish)
    # Every outcome published once, each batch at once unless it fell back to one at a time.
    published = many_published.calls[len(_setup(world)) :]
    assert sum(map(len, published)) == sum(isinstance(r, Outcome) for r in together)
    if all(isinstance(r, Outcome) for r in alone):  # a claim is a batch of its own
        claims = sum(isinstance(env.command, c.ClaimWork) for env in stream.envelopes)
        assert len(published) <= len(stream.cuts) + 2 * claims


# --- each guarantee, one at a time -------------------------------------------------------------


@pytest.fixture
def published(engine: Engine) -> Published:
    return Published(engine)


@pytest.fixture
def batches(engine: Engine, published: Published) -> BatchApplier:
    return BatchApplier(engine, published)


def _issue(engine: Engine, issue_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.issues).where(t.issues.c.id == issue_id)).first()


def _activity(engine: Engine, *issue_ids: str) -> list[Any]:
    with engine.connect() as conn:
        query = sa.select(t.activity).where(t.activity.c.issue_id.in_(issue_ids))
        return list(conn.execute(query.order_by(t.activity.c.stream_pos)).all())


def _envs(company: str, *commands: Any) -> list[Envelope]:
    return [Envelope(new_id("cmd"), company, "user:test", cmd, 201) for cmd in commands]


def test_a_refusal_inside_a_batch_rolls_back_only_its_own_writes(
    engine: Engine, company: str, batches: BatchApplier
) -> None:
    first, second, gone = new_id("iss"), new_id("iss"), new_id("iss")
    envs = _envs(
        company,
        c.CreateIssue(first, "first"),
        c.CancelIssue(first, "done with it"),
        # Frozen: refused after the handler has read the row (409).
        c.UpdateIssue(first, frozenset({"title"}), title="too late"),
        c.AssignIssue(gone, new_id("agt")),  # no such issue (or agent): 404/422
        c.CreateIssue(second, "second"),
    )
    results = batches.apply_batch(envs)
    assert [r.applied for r in results] == [True, True, False, False, True]
    assert results[2].http_status == 409
    assert _issue(engine, first).status == "cancelled" and _issue(engine, first).version == 2
    assert _issue(engine, second) is not None and _issue(engine, gone) is None
    assert [a.type for a in _activity(engine, first, second)] == [
        "issue.created",
        "issue.cancelled",
        "issue.created",
    ]
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(t.applied_commands.c.id, t.applied_commands.c.status).where(
                t.applied_commands.c.id.in_([e.command_id for e in envs])
            )
        ).all()
    assert sorted(status for _, status in stored) == sorted(
        ["applied", "applied", "rejected", "rejected", "applied"]
    )


def test_a_redelivered_batch_answers_its_stored_outcomes_and_changes_nothing(
    engine: Engine, company: str, batches: BatchApplier, published: Published
) -> None:
    issue = new_id("iss")
    envs = _envs(
        company,
        c.CreateIssue(issue, "once"),
        c.UpdateIssue(issue, frozenset({"title"}), title="twice?"),
    )
    copy = envs[1]
    first = batches.apply_batch([*envs, copy])  # a copy inside the batch as well
    again = batches.apply_batch(envs)  # the whole batch redelivered after a crash
    assert _outcomes(again) == _outcomes(first[:2])
    assert _outcomes([first[2]]) == _outcomes([first[1]])
    assert _issue(engine, issue).version == 2
    assert len(_activity(engine, issue)) == 2
    assert [len(call) for call in published.calls] == [3, 2]  # each batch published at once


def test_a_race_inside_a_batch_rolls_it_back_and_applies_its_commands_one_at_a_time(
    engine: Engine, company: str, batches: BatchApplier, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue = new_id("iss")
    handler = HANDLERS[c.UpdateIssue]
    raced: list[str] = []

    def loses_a_race_once(cmd: Any, ctx: Any) -> Any:
        if not raced:
            raced.append(ctx.command_id)
            raise ConcurrentUpdate(cmd.issue_id)
        return handler(cmd, ctx)

    monkeypatch.setitem(HANDLERS, c.UpdateIssue, loses_a_race_once)
    envs = _envs(
        company,
        c.CreateIssue(issue, "raced"),
        c.UpdateIssue(issue, frozenset({"title"}), title="after the race"),
        c.CancelIssue(issue, "then cancelled"),
    )
    results = batches.apply_batch(envs)
    assert [r.applied for r in results] == [True, True, True]
    row = _issue(engine, issue)
    assert (row.title, row.status, row.version) == ("after the race", "cancelled", 3)
    assert [a.type for a in _activity(engine, issue)] == [
        "issue.created",
        "issue.updated",
        "issue.cancelled",
    ]


def _cut_connection() -> OperationalError:
    return OperationalError(
        "SELECT 1", {}, psycopg.OperationalError("server closed the connection")
    )


def test_a_batch_that_meets_an_unreachable_database_is_retried_whole_and_applied_once(
    engine: Engine,
    company: str,
    batches: BatchApplier,
    published: Published,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issue = new_id("iss")
    handler = HANDLERS[c.CancelIssue]
    cuts: list[int] = []

    def database_goes_away_once(cmd: Any, ctx: Any) -> Any:
        if not cuts:
            cuts.append(1)
            raise _cut_connection()
        return handler(cmd, ctx)

    monkeypatch.setitem(HANDLERS, c.CancelIssue, database_goes_away_once)
    envs = _envs(company, c.CreateIssue(issue, "cut"), c.CancelIssue(issue, "cut short"))
    results = batches.apply_batch(envs)
    assert [r.applied for r in results] == [True, True]
    assert cuts == [1]
    assert _issue(engine, issue).version == 2
    assert [len(call) for call in published.calls] == [2]  # nothing published before the commit
    assert all(published.committed_at_publish)


def test_each_command_of_a_batch_keeps_its_own_time(engine: Engine, company: str) -> None:
    ticks = itertools.count()
    start = utc_now()

    def clock() -> datetime:
        return start + timedelta(seconds=next(ticks))

    batches = BatchApplier(engine, lambda *_: None, clock=clock)
    issues = [new_id("iss") for _ in range(3)]
    batches.apply_batch(_envs(company, *(c.CreateIssue(i, "timed") for i in issues)))
    moments = [a.at for a in _activity(engine, *issues)]
    assert len(set(moments)) == 3 and moments == sorted(moments)


def test_a_claim_is_applied_between_batches_in_its_place(
    engine: Engine, company: str, batches: BatchApplier, published: Published
) -> None:
    agent, issue, later = new_id("agt"), new_id("iss"), new_id("iss")
    envs = _envs(
        company,
        c.CreateAgent(agent, "claimer"),
        c.CreateIssue(issue, "to claim", assigned_agent_id=agent),
        c.ClaimWork(agent, new_id("run")),
        c.CreateIssue(later, "after the claim"),
        c.UpdateIssue(later, frozenset({"title"}), title="still after"),
    )
    results = batches.apply_batch(envs)
    assert [r.applied for r in results] == [True] * 5
    assert results[2].body["issue"]["id"] == issue
    # Before the claim, the claim alone, after it: each part committed and published at once.
    assert [len(call) for call in published.calls] == [2, 1, 2]
