"""A stateful property test: random interleavings of every command over a small world.

Issue #8, point 2. The world is 2-3 issues (some depending on earlier ones), 2-3 agents
(capacity 1-2, some paused, each in some teams) and a clock that only moves forward. Every
rule runs the pure ``domain`` rules the way ``service.commands.handlers`` runs them (the lease check
of ``agent_call``, ``end_active_run`` after cancel and reassign, the expiry guard of the
sweep, what ``claim`` and ``dispatch`` may pick) and keeps every run and every lease ever
granted, so old tokens can be replayed. A ``DomainError`` is an allowed refusal, and then
nothing in the world may have changed.

Invariants, checked after every step: at most one active lease per issue; an issue is
``running`` exactly when it has an active lease, which is its current run's; versions run
1, 2, 3 ... with one contiguous event per transition, and every transition is in
``TRANSITIONS`` for a trigger of the command that made it; terminal issues never change;
every token but the current one is stale; lease fences only grow; ``spent`` only grows and
is exactly the sum of the reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from unit_builders import DISPATCHER, NOW, USER, assert_events_are_contiguous

from domain.change import Decision
from domain.commands import CreateIssue, UpdateIssue
from domain.costs import THRESHOLDS_PERCENT, Usage, report_cost
from domain.errors import (
    AgentUnavailable,
    AtCapacity,
    Blocked,
    DomainError,
    Frozen,
    InvalidTransition,
    NotFound,
    StaleLease,
)
from domain.events import (
    BudgetThresholdReached,
    IssueAssigned,
    IssueCancelled,
    IssueCreated,
    IssueDone,
    IssueEvent,
    IssueFailed,
    IssueHandedOff,
    IssueInReview,
    IssueReassigned,
    IssueRejected,
    IssueRequeued,
    IssueStarted,
)
from domain.issues import (
    assign_issue,
    cancel_issue,
    check_commentable,
    create_issue,
    dispatch_issue,
    pick_agent,
    reassign_issue,
    update_issue,
)
from domain.model import AgentLoad, AgentStatus, Issue
from domain.runs import (
    ExitReason,
    Lease,
    Run,
    check_can_claim,
    check_lease,
    claim_issue,
    complete_run,
    end_run_by_others,
    expire_lease,
    fail_run,
    hand_off_for_dependency,
    handoff_run,
    renew_lease,
    review_issue,
)
from domain.statuses import TERMINAL, TRANSITIONS, IssueStatus, Trigger

S = IssueStatus
T = Trigger

TEAMS = ("tm_a", "tm_b")
#: Statuses that count towards an agent's load (``domain.statuses.LOAD_STATUSES``).
LOAD = frozenset({S.ASSIGNED, S.RUNNING})

#: Which triggers may have produced an event of each type.
EVENT_TRIGGERS: dict[type[IssueEvent], frozenset[Trigger]] = {
    IssueAssigned: frozenset({T.ASSIGN, T.DISPATCH}),
    IssueReassigned: frozenset({T.REASSIGN}),
    IssueStarted: frozenset({T.CLAIM}),
    IssueInReview: frozenset({T.COMPLETE}),
    IssueDone: frozenset({T.ACCEPT}),
    IssueFailed: frozenset({T.FAIL, T.LEASE_EXPIRED}),
    IssueHandedOff: frozenset({T.HANDOFF, T.BUDGET_EXCEEDED, T.DEPENDENCY_FAILED}),
    IssueRequeued: frozenset({T.FAIL, T.LEASE_EXPIRED}),
    IssueRejected: frozenset({T.REJECT}),
    IssueCancelled: frozenset({T.CANCEL}),
}

#: The triggers each command may cause (a retry re-assigns; a claim may dispatch first).
ASSIGNING = frozenset({T.ASSIGN})
REASSIGNING = frozenset({T.REASSIGN, T.ASSIGN, T.DISPATCH})
DISPATCHING = frozenset({T.ASSIGN, T.DISPATCH})
CLAIMING = frozenset({T.DISPATCH, T.CLAIM})
CANCELLING = frozenset({T.CANCEL})
COMPLETING = frozenset({T.COMPLETE})
FAILING = frozenset({T.FAIL, T.ASSIGN})
EXPIRING = frozenset({T.LEASE_EXPIRED, T.ASSIGN})
HANDING_OFF = frozenset({T.HANDOFF})
OVER_BUDGET = frozenset({T.BUDGET_EXCEEDED})
REVIEWING = frozenset({T.ACCEPT, T.REJECT})
DEPENDENCY = frozenset({T.DEPENDENCY_FAILED})

#: A dependency that ended like this hands its dependents off.
DEAD = frozenset({S.FAILED, S.CANCELLED})
#: Where a reassign applies.
MOVABLE = frozenset({S.ASSIGNED, S.RUNNING, S.HANDOFF})

#: Exit reasons of a run ended by someone other than its agent: its agent is told why.
ENDED_BY_OTHERS = frozenset(
    {
        ExitReason.CANCELLED,
        ExitReason.REASSIGNED,
        ExitReason.LEASE_EXPIRED,
        ExitReason.DEPENDENCY_FAILED,
        ExitReason.BUDGET_EXCEEDED,
    }
)

PICK = st.integers(min_value=0, max_value=2)
#: 0: the issue's current token (its last one if it has none), most often; k > 0: the k-th
#: token ever granted on the issue (modulo); -1 / -2: forged from the last run (the next
#: fence / fence 0); -3: the current token sent for the issue's first run.
CURRENT = 0
TOKEN = st.sampled_from([CURRENT, CURRENT, CURRENT, CURRENT, -3, -2, -1, 1, 2, 3])
#: Seconds the clock moves on before a checkpoint or an expiry.
LATER = st.integers(min_value=0, max_value=90)
USD = st.sampled_from([Decimal(v) for v in ("0", "0.01", "0.25", "0.333333", "0.5")])
BUDGET = st.sampled_from([None, Decimal(0), Decimal("0.50"), Decimal("1.00")])

AGENT_SPEC = st.tuples(
    st.integers(min_value=1, max_value=2),  # capacity
    st.sampled_from([False, False, True]),  # paused
    st.sets(st.sampled_from(TEAMS), max_size=2),  # teams
)
ISSUE_SPEC = st.tuples(
    st.sampled_from(["team", "agent", "both", "nobody"]),
    st.integers(min_value=0, max_value=2),  # which agent, when one is named
    st.sampled_from(TEAMS),
    BUDGET,
    st.integers(min_value=1, max_value=3),  # max attempts
    # Dependencies on earlier issues: mostly none, so that most issues can be claimed.
    st.sampled_from([(), (), (), (0,), (1,), (0, 1)]),
)


@dataclass
class AgentRow:
    id: str
    status: AgentStatus
    capacity: int
    teams: frozenset[str]
    idle_since: datetime | None = None


@dataclass(frozen=True)
class Logged:
    """One applied event and the triggers of the command that produced it."""

    event: IssueEvent
    triggers: frozenset[Trigger]


class IssueWorld(RuleBasedStateMachine):
    """Issues, agents, runs and leases, changed only through the domain rules."""

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.agents: dict[str, AgentRow] = {}
        self.issues: dict[str, Issue] = {}
        self.runs: dict[str, Run] = {}
        #: Every lease ever granted, by token, in the order granted (renewed and released
        #: in place).
        self.leases: dict[str, Lease] = {}
        self.log: dict[str, list[Logged]] = {}
        self.notes: dict[str, list[BudgetThresholdReached]] = {}
        #: The sum of every accepted cost report, per issue; and how many each run made.
        self.spent: dict[str, Decimal] = {}
        self.reports: dict[str, int] = {}
        #: Each terminal issue as it was when it got there.
        self.frozen: dict[str, Issue] = {}
        self.next_run = 1

    # --- the world ----------------------------------------------------------------------

    @initialize(
        agent_specs=st.lists(AGENT_SPEC, min_size=2, max_size=3),
        issue_specs=st.lists(ISSUE_SPEC, min_size=2, max_size=3),
    )
    def create_the_world(
        self,
        agent_specs: list[tuple[int, bool, set[str]]],
        issue_specs: list[tuple[str, int, str, Decimal | None, int, tuple[int, ...]]],
    ) -> None:
        for n, (capacity, is_paused, teams) in enumerate(agent_specs):
            status = AgentStatus.PAUSED if is_paused else AgentStatus.ACTIVE
            self.agents[f"agt_{n}"] = AgentRow(f"agt_{n}", status, capacity, frozenset(teams))
        agent_ids = list(self.agents)
        for n, (owner, agent_pick, team, budget, max_attempts, deps) in enumerate(issue_specs):
            agent_id = agent_ids[agent_pick % len(agent_ids)]
            named = agent_id if owner in {"agent", "both"} else None
            cmd = CreateIssue(
                issue_id=f"iss_{n}",
                title=f"issue {n}",
                assigned_team_id=team if owner in {"team", "both"} else None,
                assigned_agent_id=named,
                budget_per_task_usd=budget,
                dependencies=tuple(sorted(f"iss_{d}" for d in deps if d < n)),
                max_attempts=max_attempts,
            )
            blocked = any(self.issues[d].status is not S.DONE for d in cmd.dependencies)
            agent = self._load(named) if named else None
            team_agents = (
                []
                if agent is not None or blocked
                else self._choose_agent(cmd.assigned_team_id, exclude=None)
            )
            decision = create_issue(
                cmd,
                company_id="cmp_1",
                now=self.now,
                actor=USER,
                agent=agent,
                team_agents=team_agents,
                blocked=blocked,
            )
            assert_events_are_contiguous(None, decision)
            issue = decision.issue
            assert issue.version == len(decision.events) and issue.spent_usd == 0
            self.issues[issue.id] = issue
            self.log[issue.id] = [Logged(decision.events[0], frozenset())]
            self.log[issue.id] += [Logged(e, DISPATCHING) for e in decision.events[1:]]
            self._check_triggers(decision.events[1:], DISPATCHING)
            self.notes[issue.id] = []
            self.spent[issue.id] = Decimal(0)

    def _issue_id(self, pick: int, prefer: Callable[[Issue], bool] | None = None) -> str:
        """The ``pick``-th issue, among those ``prefer`` likes when there are any (so that
        commands mostly land where they can apply, and sometimes where they cannot)."""
        issues = list(self.issues.values())
        liked = [i for i in issues if prefer(i)] if prefer else []
        chosen = liked or issues
        return chosen[pick % len(chosen)].id

    def _agent_id(self, pick: int, prefer: Callable[[AgentRow], bool] | None = None) -> str:
        agents = list(self.agents.values())
        liked = [a for a in agents if prefer(a)] if prefer else []
        chosen = liked or agents
        return chosen[pick % len(chosen)].id

    def _claimable(self, agent_id: str) -> list[Issue]:
        """``repo.claimable``: the agent's own ``assigned`` issues first, then its teams'
        unassigned ``queued`` ones, oldest first; blocked ones never."""
        teams = self.agents[agent_id].teams
        unblocked = [i for i in self.issues.values() if not self._blocked(i.id)]
        mine = [i for i in unblocked if i.status is S.ASSIGNED and i.assigned_agent_id == agent_id]
        team_queue = [
            i
            for i in unblocked
            if i.status is S.QUEUED and i.assigned_agent_id is None and i.assigned_team_id in teams
        ]
        return mine + team_queue

    def _load(self, agent_id: str) -> AgentLoad:
        row = self.agents[agent_id]
        load = sum(
            1 for i in self.issues.values() if i.assigned_agent_id == agent_id and i.status in LOAD
        )
        return AgentLoad(row.id, row.status, row.capacity, load, row.idle_since)

    def _running(self, agent_id: str) -> int:
        return sum(
            1
            for i in self.issues.values()
            if i.assigned_agent_id == agent_id and i.status is S.RUNNING
        )

    def _choose_agent(self, team_id: str | None, exclude: str | None) -> list[AgentLoad]:
        """``service.commands.handlers.dispatch.choose_agent`` without concurrency."""
        if team_id is None:
            return []
        members = [self._load(a.id) for a in self.agents.values() if team_id in a.teams]
        chosen = pick_agent(members, exclude=exclude)
        return [] if chosen is None else [chosen]

    def _blocked(self, issue_id: str) -> bool:
        return any(self.issues[d].status is not S.DONE for d in self.issues[issue_id].dependencies)

    def _has_a_dead_dependency(self, issue: Issue) -> bool:
        return any(self.issues[d].status in DEAD for d in issue.dependencies)

    def _active_lease(self, issue_id: str) -> Lease | None:
        active = [le for le in self.leases.values() if le.issue_id == issue_id and le.active]
        return active[-1] if active else None

    def _tokens(self, issue_id: str) -> list[Lease]:
        return [le for le in self.leases.values() if le.issue_id == issue_id]

    def _pick_token(self, issue_id: str, pick: int) -> tuple[str, str] | None:
        """(token, run id) an agent could send on ``issue_id``; None if it never had a run."""
        granted = self._tokens(issue_id)
        if not granted:
            return None
        last = granted[-1]
        if pick == CURRENT:
            lease = self._active_lease(issue_id) or last
            return lease.token, lease.run_id
        if pick == -1:
            return f"{last.run_id}.{last.fence + 1}", last.run_id
        if pick == -2:
            return f"{last.run_id}.0", last.run_id
        if pick == -3:  # the right token, the wrong run (the first one on the issue)
            lease = self._active_lease(issue_id) or last
            return lease.token, granted[0].run_id
        lease = granted[pick % len(granted)]
        return lease.token, lease.run_id

    def _is_current(self, issue_id: str, token: str, run_id: str) -> bool:
        lease = self._active_lease(issue_id)
        return lease is not None and (lease.token, lease.run_id) == (token, run_id)

    def _snapshot(self) -> tuple[object, ...]:
        return (
            self.now,
            dict(self.issues),
            dict(self.runs),
            dict(self.leases),
            {k: list(v) for k, v in self.log.items()},
            {k: list(v) for k, v in self.notes.items()},
            dict(self.spent),
            dict(self.reports),
            dict(self.frozen),
            [(a.id, a.status, a.idle_since) for a in self.agents.values()],
        )

    def _attempt(self, command: Callable[[], None]) -> DomainError | None:
        """Run ``command``; when the rules refuse it, nothing may have changed."""
        before = self._snapshot()
        try:
            command()
        except DomainError as refused:
            assert self._snapshot() == before, f"{refused!r} was refused yet changed the world"
            return refused
        return None

    def _check_triggers(self, events: tuple[IssueEvent, ...], triggers: frozenset[Trigger]) -> None:
        for e in events:
            assert e.from_status is not None
            allowed = TRANSITIONS.get((e.from_status, e.to_status), frozenset())
            assert allowed & EVENT_TRIGGERS[type(e)] & triggers, (
                f"{type(e).__name__} {e.from_status} -> {e.to_status} is not in the table "
                f"for any of {sorted(triggers)}"
            )

    def _commit(
        self,
        before: Issue,
        decision: Decision,
        triggers: frozenset[Trigger],
        *,
        spent: Decimal = Decimal(0),
    ) -> Issue:
        """Store a decision after checking it chains on ``before`` (plus ``spent``)."""
        assert self.issues[before.id] == before
        assert_events_are_contiguous(before.evolve(spent_usd=before.spent_usd + spent), decision)
        assert len(decision.states) == len(decision.events)
        for state, event in zip(decision.states, decision.events, strict=True):
            assert (state.version, state.status) == (event.version, event.to_status)
        if decision.states:
            assert decision.states[-1] == decision.issue
        self._check_triggers(decision.events, triggers)
        after = decision.issue
        if before.status in TERMINAL:
            assert after == before, f"the {before.status} issue {before.id} changed"
        for name in ("id", "company_id", "created_at", "dependencies", "max_attempts"):
            assert getattr(after, name) == getattr(before, name)
        assert after.lease_fence >= before.lease_fence
        assert after.spent_usd >= before.spent_usd
        if self._blocked(before.id):
            assert not any(
                isinstance(e, IssueAssigned) and e.actor == DISPATCHER for e in decision.events
            ), "a blocked issue was dispatched"
        self.issues[after.id] = after
        self.log[after.id] += [Logged(e, triggers) for e in decision.events]
        if after.status in TERMINAL:
            self.frozen.setdefault(after.id, after)
        return after

    def _save(self, run: Run | None, lease: Lease | None) -> None:
        if run is not None:
            self.runs[run.id] = run
        if lease is not None:
            self.leases[lease.token] = lease

    def _end_active_run(self, before: Issue, reason: ExitReason) -> None:
        """``service.commands.handlers.issues.end_active_run``: someone else took the issue."""
        if before.current_run_id is None:
            return
        run, lease = end_run_by_others(
            self.runs[before.current_run_id],
            self._active_lease(before.id),
            now=self.now,
            reason=reason,
        )
        assert run is not None and not run.active and run.exit_reason is reason
        assert lease is not None and not lease.active and lease.release_reason == reason
        self._save(run, lease)

    def _agent_call(self, issue_id: str, run_id: str, token: str) -> tuple[Issue, Run, Lease]:
        """``service.commands.handlers.runs.agent_call``: the run must be the issue's, the token
        current."""
        run = self.runs.get(run_id)
        if run is None or run.issue_id != issue_id:
            raise NotFound("run", run_id)
        lease = check_lease(run, self._active_lease(issue_id), token)
        return self.issues[issue_id], run, lease

    # --- humans ---------------------------------------------------------------------------

    @rule(seconds=st.integers(min_value=1, max_value=90))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(a=PICK, whim=st.integers(min_value=0, max_value=2))
    def pause_or_resume_an_agent(self, a: int, whim: int) -> None:
        if whim:  # rarely, so that the agents get some work done
            return
        row = self.agents[self._agent_id(a)]
        paused = row.status is AgentStatus.PAUSED
        row.status = AgentStatus.ACTIVE if paused else AgentStatus.PAUSED

    @rule(i=PICK, a=PICK)
    def assign(self, i: int, a: int) -> None:
        issue_id = self._issue_id(i, lambda x: x.status in {S.QUEUED, S.HANDOFF})
        before, agent = self.issues[issue_id], self._load(self._agent_id(a))

        def command() -> None:
            decision = assign_issue(before, agent, now=self.now, actor=USER)
            self._commit(before, decision, ASSIGNING)

        refused = self._attempt(command)
        if before.status in TERMINAL:
            assert isinstance(refused, Frozen)
        elif before.status not in {S.QUEUED, S.HANDOFF}:
            assert isinstance(refused, InvalidTransition)
        elif agent.status is not AgentStatus.ACTIVE:
            assert isinstance(refused, AgentUnavailable)
        else:
            assert refused is None
            after = self.issues[before.id]
            assert (after.status, after.assigned_agent_id) == (S.ASSIGNED, agent.id)

    def _reassign(
        self,
        before: Issue,
        *,
        to_agent: AgentLoad | None,
        to_team: str | None,
        team_agents: list[AgentLoad],
    ) -> bool:
        """Reassign ``before`` as the handler does; the refusals every reassign shares are
        checked here. True when it was applied."""

        def command() -> None:
            decision = reassign_issue(
                before,
                to_agent=to_agent,
                to_team_id=to_team,
                team_agents=team_agents,
                now=self.now,
                actor=USER,
                reason="moving it",
            )
            self._commit(before, decision, REASSIGNING)
            self._end_active_run(before, ExitReason.REASSIGNED)

        refused = self._attempt(command)
        if before.status in TERMINAL:
            assert isinstance(refused, Frozen)
        elif before.status in {S.QUEUED, S.REVIEW}:
            assert isinstance(refused, InvalidTransition)
        else:
            assert refused is None
        return refused is None

    @rule(i=PICK, a=PICK, whim=st.booleans())
    def reassign_to_an_agent(self, i: int, a: int, whim: bool) -> None:
        if whim:  # half as often as the other rules, so that runs get to finish
            return
        issue_id = self._issue_id(i, lambda x: x.status in MOVABLE)
        before, agent = self.issues[issue_id], self._load(self._agent_id(a))
        if self._reassign(before, to_agent=agent, to_team=None, team_agents=[]):
            after = self.issues[before.id]
            active = agent.status is AgentStatus.ACTIVE
            assert after.status is (S.ASSIGNED if active else S.QUEUED)
            assert after.assigned_agent_id == agent.id and after.current_run_id is None

    @rule(i=PICK, team=st.sampled_from(TEAMS), whim=st.booleans())
    def reassign_to_a_team(self, i: int, team: str, whim: bool) -> None:
        if whim:
            return
        before = self.issues[self._issue_id(i, lambda x: x.status in MOVABLE)]
        dispatchable = not self._blocked(before.id)
        team_agents = (
            self._choose_agent(team, exclude=before.assigned_agent_id) if dispatchable else []
        )

        if self._reassign(before, to_agent=None, to_team=team, team_agents=team_agents):
            after = self.issues[before.id]
            assert after.assigned_team_id == team and after.current_run_id is None
            if team_agents:
                assert after.status is S.ASSIGNED
                assert after.assigned_agent_id == team_agents[0].id != before.assigned_agent_id
            else:
                assert (after.status, after.assigned_agent_id) == (S.QUEUED, None)

    @rule(i=PICK, whim=st.integers(min_value=0, max_value=3))
    def cancel(self, i: int, whim: int) -> None:
        if whim:  # humans cancel rarely: otherwise most worlds would be over in a few steps
            return
        before = self.issues[self._issue_id(i, lambda x: x.status not in TERMINAL)]

        def command() -> None:
            decision = cancel_issue(before, now=self.now, actor=USER, reason="not needed")
            self._commit(before, decision, CANCELLING)
            self._end_active_run(before, ExitReason.CANCELLED)

        refused = self._attempt(command)
        if before.status in TERMINAL:
            assert isinstance(refused, Frozen)
        else:
            assert refused is None
            assert self.issues[before.id].status is S.CANCELLED

    @rule(i=PICK, accept=st.booleans())
    def review(self, i: int, accept: bool) -> None:
        before = self.issues[self._issue_id(i, lambda x: x.status is S.REVIEW)]

        def command() -> None:
            decision = review_issue(before, accept=accept, now=self.now, actor=USER, comment=None)
            self._commit(before, decision, REVIEWING)

        refused = self._attempt(command)
        if before.status in TERMINAL:
            assert isinstance(refused, Frozen)
        elif before.status is not S.REVIEW:
            assert isinstance(refused, InvalidTransition)
        else:
            assert refused is None
            after = self.issues[before.id]
            assert after.status is (S.DONE if accept else S.ASSIGNED)
            assert after.assigned_agent_id == before.assigned_agent_id

    @rule(i=PICK)
    def dispatch(self, i: int) -> None:
        """The follow-up queued after a run ends, an agent frees up or resumes."""
        before = self.issues[self._issue_id(i, lambda x: x.status is S.QUEUED)]
        if before.status is S.QUEUED and self._blocked(before.id):
            return  # the handler never dispatches a blocked issue
        waiting = self._load(before.assigned_agent_id) if before.assigned_agent_id else None
        team_agents = (
            [] if waiting is not None else self._choose_agent(before.assigned_team_id, None)
        )
        decision = dispatch_issue(
            before, waiting_agent=waiting, team_agents=team_agents, now=self.now
        )
        after = self._commit(before, decision, DISPATCHING)
        if before.status is not S.QUEUED:
            assert after == before
        elif waiting is not None:
            assigned = waiting.status is AgentStatus.ACTIVE
            assert after.status is (S.ASSIGNED if assigned else S.QUEUED)
            assert after.assigned_agent_id == waiting.id
        else:
            assert after.status is (S.ASSIGNED if team_agents else S.QUEUED)

    @rule(i=PICK)
    def a_failed_dependency_hands_off_its_dependents(self, i: int) -> None:
        before = self.issues[self._issue_id(i, self._has_a_dead_dependency)]
        dead = [d for d in before.dependencies if self.issues[d].status in DEAD]
        if not dead:
            return
        run = self.runs[before.current_run_id] if before.current_run_id else None
        ended = hand_off_for_dependency(
            before,
            run,
            self._active_lease(before.id),
            dependency_id=dead[0],
            dependency_status=self.issues[dead[0]].status,
            now=self.now,
        )
        if before.status in TERMINAL:
            assert ended is None
            return
        assert ended is not None
        self._save(ended.run, ended.lease)
        after = self._commit(before, ended.decision, DEPENDENCY)
        assert after.status is S.HANDOFF and after.current_run_id is None
        if run is not None:
            assert ended.run is not None and ended.run.exit_reason is ExitReason.DEPENDENCY_FAILED

    @rule(i=PICK, a=PICK)
    def every_command_on_a_terminal_issue_is_frozen_or_a_no_op(self, i: int, a: int) -> None:
        issue = self.issues[self._issue_id(i, lambda x: x.status in TERMINAL)]
        if issue.status not in TERMINAL:
            return
        agent = self._load(self._agent_id(a))
        granted = self._tokens(issue.id)
        last = granted[-1] if granted else None
        now, before = self.now, self._snapshot()
        frozen: list[Callable[[], object]] = [
            lambda: assign_issue(issue, agent, now=now, actor=USER),
            lambda: cancel_issue(issue, now=now, actor=USER, reason=None),
            lambda: review_issue(issue, accept=True, now=now, actor=USER, comment=None),
            lambda: review_issue(issue, accept=False, now=now, actor=USER, comment=None),
            lambda: check_commentable(issue),
            lambda: update_issue(
                issue, UpdateIssue(issue.id, frozenset({"title"}), title="x"), now=now, actor=USER
            ),
        ]
        for to_team in (None, TEAMS[0]):
            frozen.append(
                lambda to_team=to_team: reassign_issue(
                    issue,
                    to_agent=None if to_team else agent,
                    to_team_id=to_team,
                    team_agents=[],
                    now=now,
                    actor=USER,
                    reason=None,
                )
            )
        if last is not None:  # the domain rules of an agent call, skipping the lease check
            run = self.runs[last.run_id]
            frozen += [
                lambda: complete_run(issue, run, last, now=now, result=None, workspace_url=None),
                lambda: handoff_run(issue, run, last, now=now, reason="r"),
                lambda: expire_lease(issue, run, last, now=now, agent=agent),
            ]
            for retryable in (False, True):
                frozen.append(
                    lambda retryable=retryable: fail_run(
                        issue,
                        run,
                        last,
                        now=now,
                        reason="r",
                        details=None,
                        retryable=retryable,
                        agent=agent,
                    )
                )
        for command in frozen:
            with pytest.raises(Frozen):
                command()
        with pytest.raises((Frozen, AgentUnavailable, AtCapacity)) as claimed:
            claim_issue(
                issue, agent, running=0, blocked=False, run_id="run_x", lease_seconds=60, now=now
            )
        if agent.status is AgentStatus.ACTIVE:
            assert isinstance(claimed.value, Frozen)
        assert dispatch_issue(issue, waiting_agent=agent, team_agents=[agent], now=now).issue == (
            issue
        )
        assert (
            hand_off_for_dependency(
                issue, None, None, dependency_id="iss_x", dependency_status=S.FAILED, now=now
            )
            is None
        )
        assert self._snapshot() == before

    # --- agents ---------------------------------------------------------------------------

    @rule(a=PICK, lease_seconds=st.sampled_from([10, 60]))
    def claim_work(self, a: int, lease_seconds: int) -> None:
        """``service.commands.handlers.runs.claim_work``: the oldest issue the agent may claim."""
        agent_id = self._agent_id(a, lambda x: bool(self._claimable(x.id)))
        agent, running = self._load(agent_id), self._running(agent_id)
        claimable = self._claimable(agent_id)
        if agent.status is not AgentStatus.ACTIVE or running >= agent.capacity:
            refused = self._attempt(lambda: check_can_claim(agent, running))
            assert isinstance(refused, (AgentUnavailable, AtCapacity))
        elif claimable:
            assert self._claim(agent_id, claimable[0].id, lease_seconds) is None

    @rule(a=PICK, i=PICK, lease_seconds=st.sampled_from([10, 60]))
    def claim_a_given_issue(self, a: int, i: int, lease_seconds: int) -> None:
        """The domain rule on any issue the agent could be offered, or could not be."""
        agent_id, before = self._agent_id(a), self.issues[self._issue_id(i)]
        agent, running = self._load(agent_id), self._running(agent_id)
        mine = before.status is S.ASSIGNED and before.assigned_agent_id == agent_id
        team_queue = (
            before.status is S.QUEUED
            and before.assigned_agent_id is None
            and before.assigned_team_id in self.agents[agent_id].teams
        )
        if before.status in {S.QUEUED, S.ASSIGNED} and not (mine or team_queue):
            return  # ``repo.claimable`` never offers it to this agent
        refused = self._claim(agent_id, before.id, lease_seconds)
        if before.status in TERMINAL | {S.RUNNING, S.REVIEW, S.HANDOFF}:
            assert refused is not None
        elif agent.status is not AgentStatus.ACTIVE:
            assert isinstance(refused, AgentUnavailable)
        elif running >= agent.capacity:
            assert isinstance(refused, AtCapacity)
        elif self._blocked(before.id):
            assert isinstance(refused, Blocked)
        else:
            assert refused is None

    def _claim(self, agent_id: str, issue_id: str, lease_seconds: int) -> DomainError | None:
        before = self.issues[issue_id]
        agent, running = self._load(agent_id), self._running(agent_id)
        run_id = f"run_{self.next_run}"
        self.next_run += 1

        def command() -> None:
            started = claim_issue(
                before,
                agent,
                running=running,
                blocked=self._blocked(issue_id),
                run_id=run_id,
                lease_seconds=lease_seconds,
                now=self.now,
            )
            after = self._commit(before, started.decision, CLAIMING)
            self._save(started.run, started.lease)
            self.reports[run_id] = 0
            self.agents[agent_id].idle_since = self.now
            assert (after.status, after.assigned_agent_id) == (S.RUNNING, agent_id)
            assert started.lease.fence == after.lease_fence == before.lease_fence + 1
            assert started.lease.token == f"{run_id}.{started.lease.fence}"
            assert started.lease.expires_at == self.now + timedelta(seconds=lease_seconds)
            assert (started.run.agent_id, started.run.attempt) == (agent_id, after.attempts)
            assert after.attempts == before.attempts + 1

        return self._attempt(command)

    def _agent_command(
        self,
        i: int,
        pick: int,
        act: Callable[[Issue, Run, Lease], None],
    ) -> None:
        """An agent call with a token that may be current, old or forged: only the current
        one is let through, and then the command must apply."""
        issue_id = self._issue_id(i, lambda x: x.status is S.RUNNING)
        picked = self._pick_token(issue_id, pick)
        if picked is None:
            return
        token, run_id = picked
        current = self._is_current(issue_id, token, run_id)

        def command() -> None:
            act(*self._agent_call(issue_id, run_id, token))

        refused = self._attempt(command)
        if current:
            assert refused is None
        else:
            assert isinstance(refused, StaleLease)
            assert refused.extra["stop"] is True
            run = self.runs[run_id]
            if run.exit_reason in ENDED_BY_OTHERS:
                assert refused.extra["stopReason"] == run.exit_reason
            else:
                assert "stopReason" not in refused.extra

    @rule(i=PICK, pick=TOKEN, later=LATER)
    def checkpoint(self, i: int, pick: int, later: int) -> None:
        """A checkpoint ``later`` seconds on: it renews even a lease past its expiry that
        the sweep has not expired yet."""
        self.now += timedelta(seconds=later)

        def act(issue: Issue, run: Run, lease: Lease) -> None:
            renewed = renew_lease(lease, self.now)
            assert renewed.token == lease.token and renewed.active
            assert renewed.expires_at == self.now + timedelta(seconds=lease.lease_seconds)
            assert renewed.expires_at >= lease.expires_at
            self._save(None, renewed)

        self._agent_command(i, pick, act)

    @rule(i=PICK, pick=TOKEN)
    def complete(self, i: int, pick: int) -> None:
        def act(issue: Issue, run: Run, lease: Lease) -> None:
            ended = complete_run(issue, run, lease, now=self.now, result={}, workspace_url=None)
            self._save(ended.run, ended.lease)
            after = self._commit(issue, ended.decision, COMPLETING)
            assert after.status is S.REVIEW
            assert ended.run is not None and ended.run.exit_reason is ExitReason.COMPLETED

        self._agent_command(i, pick, act)

    @rule(i=PICK, pick=TOKEN, retryable=st.booleans())
    def fail(self, i: int, pick: int, retryable: bool) -> None:
        def act(issue: Issue, run: Run, lease: Lease) -> None:
            ended = fail_run(
                issue,
                run,
                lease,
                now=self.now,
                reason="tests do not pass",
                details=None,
                retryable=retryable,
                agent=self._load(run.agent_id),
            )
            self._save(ended.run, ended.lease)
            after = self._commit(issue, ended.decision, FAILING)
            gives_up = not retryable or issue.attempts >= issue.max_attempts
            assert (after.status is S.FAILED) == gives_up
            assert ended.run is not None and ended.run.exit_reason is ExitReason.FAILED

        self._agent_command(i, pick, act)

    @rule(i=PICK, pick=TOKEN)
    def handoff(self, i: int, pick: int) -> None:
        def act(issue: Issue, run: Run, lease: Lease) -> None:
            ended = handoff_run(issue, run, lease, now=self.now, reason="needs a human")
            self._save(ended.run, ended.lease)
            after = self._commit(issue, ended.decision, HANDING_OFF)
            assert after.status is S.HANDOFF

        self._agent_command(i, pick, act)

    @rule(i=PICK, pick=TOKEN, usd=USD)
    def report_a_cost(self, i: int, pick: int, usd: Decimal) -> None:
        def act(issue: Issue, run: Run, lease: Lease) -> None:
            reported = report_cost(issue, run, lease, Usage(usd, 10, 5), now=self.now)
            budget = issue.budget_per_task_usd
            spent = issue.spent_usd + usd
            first_report = self.reports[run.id] == 0
            assert reported.run.cost_usd == run.cost_usd + usd
            assert reported.run.input_tokens == run.input_tokens + 10
            assert reported.run.output_tokens == run.output_tokens + 5
            self._save(reported.run, reported.lease)
            self.spent[issue.id] += usd
            self.reports[run.id] += 1
            after = self._commit(issue, reported.decision, OVER_BUDGET, spent=usd)
            assert after.spent_usd == spent
            if reported.stopped:
                assert budget is not None and spent >= budget and after.status is S.HANDOFF
                # The report that crossed the cap, or the first on an issue already at it.
                assert issue.spent_usd < budget or first_report
                assert reported.run.exit_reason is ExitReason.BUDGET_EXCEEDED
                assert not reported.lease.active
            else:
                assert budget is None or spent < budget
                assert after.status is S.RUNNING and reported.lease == lease
            reached = [int((note.reason or "").split("%")[0]) for note in reported.notes]
            for note in reported.notes:
                assert note.note  # the history checks (tests/history.py) skip it by that
                assert note.from_status is note.to_status is issue.status
                assert note.version == issue.version
            if budget:  # each share is noted once: when spending first reaches it
                shares = [(pct, budget * pct / 100) for pct in THRESHOLDS_PERCENT]
                assert reached == [pct for pct, at in shares if issue.spent_usd < at <= spent]
            elif budget is None:
                assert reached == []
            else:  # a zero budget is reached by any report made while nothing is spent
                assert reached == (list(THRESHOLDS_PERCENT) if issue.spent_usd == 0 else [])
            self.notes[issue.id] += reported.notes

        self._agent_command(i, pick, act)

    @rule(i=PICK, pick=TOKEN, later=LATER)
    def the_sweep_expires_a_lease(self, i: int, pick: int, later: int) -> None:
        """The sweep saw a lease past its expiry and queued its expiry; it runs ``later``
        seconds on (the lease may have been renewed or released meanwhile)."""
        self.now += timedelta(seconds=later)
        issue_id = self._issue_id(i, lambda x: x.status is S.RUNNING)
        picked = self._pick_token(issue_id, pick)
        if picked is None:
            return
        token, _ = picked

        def command() -> None:
            """``service.commands.handlers.runs.expire_lease``: only the current, expired lease."""
            issue, lease = self.issues[issue_id], self._active_lease(issue_id)
            if lease is None or lease.token != token:
                raise StaleLease("the lease was already released")
            if lease.expires_at > self.now:
                raise StaleLease("the lease was renewed before it expired")
            run = self.runs[lease.run_id]
            ended = expire_lease(issue, run, lease, now=self.now, agent=self._load(run.agent_id))
            self._save(ended.run, ended.lease)
            after = self._commit(issue, ended.decision, EXPIRING)
            assert (after.status is S.FAILED) == (issue.attempts >= issue.max_attempts)
            assert ended.run is not None and ended.run.exit_reason is ExitReason.LEASE_EXPIRED

        lease = self._active_lease(issue_id)
        expired = lease is not None and lease.token == token and lease.expires_at <= self.now
        refused = self._attempt(command)
        if expired:
            assert refused is None
        else:
            assert isinstance(refused, StaleLease)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def at_most_one_active_lease_per_issue(self) -> None:
        for issue_id in self.issues:
            active = [le for le in self._tokens(issue_id) if le.active]
            assert len(active) <= 1, f"{issue_id} has {len(active)} active leases"

    @invariant()
    def an_issue_runs_exactly_when_its_current_run_holds_the_active_lease(self) -> None:
        for issue in self.issues.values():
            lease = self._active_lease(issue.id)
            assert (issue.status is S.RUNNING) == (lease is not None)
            if issue.status in {S.ASSIGNED, S.RUNNING, S.REVIEW}:
                assert issue.assigned_agent_id in self.agents
            if lease is None:
                assert issue.current_run_id is None
                continue
            run = self.runs[lease.run_id]
            assert lease.run_id == issue.current_run_id and run.active
            assert lease.fence == issue.lease_fence
            assert run.agent_id == issue.assigned_agent_id
        for run in self.runs.values():
            if run.active:
                assert self.issues[run.issue_id].current_run_id == run.id
        for lease in self.leases.values():
            if not self.runs[lease.run_id].active:
                assert not lease.active

    @invariant()
    def versions_count_the_transitions_one_by_one(self) -> None:
        for issue in self.issues.values():
            events = [logged.event for logged in self.log[issue.id]]
            assert isinstance(events[0], IssueCreated) and events[0].from_status is None
            assert [e.version for e in events] == list(range(1, issue.version + 1))
            for earlier, later in pairwise(events):
                assert later.from_status is earlier.to_status
            assert events[-1].to_status is issue.status

    @invariant()
    def every_transition_is_in_the_table_for_the_command_that_made_it(self) -> None:
        for issue_id, logged in self.log.items():
            for entry in logged[1:]:
                self._check_triggers((entry.event,), entry.triggers)
            for note in self.notes[issue_id]:
                assert isinstance(note, BudgetThresholdReached)
                assert note.from_status is note.to_status

    @invariant()
    def terminal_issues_never_change(self) -> None:
        for issue_id, frozen in self.frozen.items():
            assert self.issues[issue_id] == frozen
            assert all(not r.active for r in self.runs.values() if r.issue_id == issue_id)

    @invariant()
    def every_token_but_the_current_one_is_stale(self) -> None:
        for issue in self.issues.values():
            active = self._active_lease(issue.id)
            for lease in self._tokens(issue.id):
                run = self.runs[lease.run_id]
                if active is not None and lease.token == active.token:
                    assert check_lease(run, active, lease.token) == active
                    continue
                with pytest.raises(StaleLease):
                    check_lease(run, active, lease.token)
                with pytest.raises(StaleLease):  # a released lease is not current either
                    check_lease(run, lease, lease.token)
                if active is not None:
                    with pytest.raises(StaleLease):
                        check_lease(run, active, f"{active.run_id}.{active.fence + 1}")

    @invariant()
    def lease_fences_only_grow(self) -> None:
        for issue in self.issues.values():
            fences = [le.fence for le in self._tokens(issue.id)]
            assert fences == list(range(1, len(fences) + 1))
            assert issue.lease_fence == len(fences)
            assert issue.attempts == len([r for r in self.runs.values() if r.issue_id == issue.id])

    @invariant()
    def spent_is_exactly_the_sum_of_the_reports(self) -> None:
        for issue in self.issues.values():
            runs = [r for r in self.runs.values() if r.issue_id == issue.id]
            assert issue.spent_usd == self.spent[issue.id] == sum(r.cost_usd for r in runs)

    @invariant()
    def no_agent_runs_more_than_its_capacity(self) -> None:
        for agent in self.agents.values():
            assert self._running(agent.id) <= agent.capacity

    @invariant()
    def only_unblocked_issues_were_ever_claimed(self) -> None:
        for issue in self.issues.values():
            if issue.attempts:
                assert not self._blocked(issue.id)


IssueWorld.TestCase.settings = settings(
    max_examples=400,
    stateful_step_count=75,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAnyInterleavingOfCommandsKeepsLeasesVersionsAndFrozenIssuesSound = IssueWorld.TestCase
