"""The dispatch sweep on PostgreSQL: a team queue longer than the pool can drain between two
sweeps is sent once, not again on every sweep (the flood that kept a benchmark's commands
pool backlogged for minutes behind no-op dispatches)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from domain import commands as c
from service.commands.envelope import Envelope
from service.commands.pipeline import Applier
from service.ids import new_id
from tests.integration.conftest import Apply
from workers.dispatches import PendingDispatches
from workers.scheduler import LeaderLock, Scheduler


class AlwaysLeader(LeaderLock):
    def held(self) -> bool:
        return True


def _team_queue(apply: Apply, company: str, issues: int, capacity: int) -> list[str]:
    """``issues`` queued for a team whose one agent has ``capacity`` free slots (the test's
    pipeline publishes no follow-up, so nothing is dispatched before the sweep)."""
    team = new_id("tm")
    assert apply(c.CreateTeam(team, "writers"), company).applied
    ids = [new_id("iss") for _ in range(issues)]
    for issue_id in ids:
        assert apply(c.CreateIssue(issue_id, "q", assigned_team_id=team), company).applied
    agent = c.CreateAgent(new_id("agt"), "a1", team_ids=(team,), capacity=capacity)
    assert apply(agent, company).applied
    return ids


def _sweep(scheduler: Scheduler, sent: list[Envelope], company: str) -> list[str]:
    """One sweep: the issues of ``company`` it sent a dispatch for (the database is shared
    with other tests, whose queues the sweep sees too)."""
    before = len(sent)
    scheduler.tick()
    return [env.command.issue_id for env in sent[before:] if env.company_id == company]


def _sweeper(engine: Engine, sent: list[Envelope], resend_s: float = 60) -> Scheduler:
    return Scheduler(
        engine,
        sent.append,
        1.0,
        leader=AlwaysLeader(engine),
        pending=PendingDispatches(resend_s),
    )


def test_a_dispatch_on_its_way_is_not_sent_again_by_the_next_sweeps(
    engine: Engine, apply: Apply, company: str
) -> None:
    queued = _team_queue(apply, company, issues=12, capacity=8)
    sent: list[Envelope] = []
    scheduler = _sweeper(engine, sent)

    first = _sweep(scheduler, sent, company)
    assert len(set(first)) == len(first) == 8 and set(first) <= set(queued)
    assert _sweep(scheduler, sent, company) == []  # the 8 slots are as good as taken
    assert _sweep(scheduler, sent, company) == []


def test_the_next_sweep_sends_again_once_the_dispatches_are_applied(
    engine: Engine, applier: Applier, apply: Apply, company: str
) -> None:
    _team_queue(apply, company, issues=12, capacity=8)
    sent: list[Envelope] = []
    scheduler = _sweeper(engine, sent)
    assert len(_sweep(scheduler, sent, company)) == 8
    ours = [env for env in sent if env.company_id == company]
    # Two applied, six still on their way: the agent took two, so six slots are free and
    # all six are taken by the dispatches still pending.
    for env in ours[:2]:
        assert applier.apply(env).applied
    assert _sweep(scheduler, sent, company) == []
    for env in ours[2:]:
        assert applier.apply(env).applied
    # The agent is full (8 assigned): the four left stay queued, none of ours is pending.
    assert _sweep(scheduler, sent, company) == []
    assert not {env.command.issue_id for env in ours} & set(scheduler.pending.issue_ids())


def test_a_dispatch_not_applied_within_resend_s_is_sent_again(
    engine: Engine, apply: Apply, company: str
) -> None:
    _team_queue(apply, company, issues=3, capacity=3)
    sent: list[Envelope] = []
    scheduler = _sweeper(engine, sent, resend_s=0)
    first = _sweep(scheduler, sent, company)
    assert len(first) == 3
    assert _sweep(scheduler, sent, company) == first
