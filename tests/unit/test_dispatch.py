"""The dispatcher's choice (``domain.issues.pick_agent``) and agent availability.

docs/api.md: an agent is available when it is active and its assigned + running issues number
fewer than its capacity; among available agents the least loaded wins, ties by longest
idle (an agent never given work counts as the idlest).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import permutations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit_builders import NOW, make_agent

from domain.issues import pick_agent
from domain.model import AgentLoad, AgentStatus


def _ids(agents: list[AgentLoad]) -> str:
    return ",".join(a.id for a in agents)


def _every_order(*agents: AgentLoad) -> list[list[AgentLoad]]:
    return [list(p) for p in permutations(agents)]


# --- availability ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "capacity", "load", "available"),
    [
        (AgentStatus.ACTIVE, 1, 0, True),
        (AgentStatus.ACTIVE, 3, 2, True),
        (AgentStatus.ACTIVE, 3, 3, False),
        (AgentStatus.ACTIVE, 1, 2, False),
        (AgentStatus.ACTIVE, 0, 0, False),
        (AgentStatus.PAUSED, 3, 0, False),
    ],
    ids=["idle", "room-left", "full", "over-full", "zero-capacity", "paused"],
)
def test_an_agent_is_available_only_when_active_and_below_capacity(
    status: AgentStatus, capacity: int, load: int, available: bool
) -> None:
    agent = make_agent(status=status, capacity=capacity, load=load)
    assert agent.available is available


# --- the choice ------------------------------------------------------------------------

LEAST_LOADED = _every_order(
    make_agent("agt_a", capacity=5, load=3),
    make_agent("agt_b", capacity=5, load=1),
    make_agent("agt_c", capacity=5, load=2),
)


@pytest.mark.parametrize("agents", LEAST_LOADED, ids=map(_ids, LEAST_LOADED))
def test_the_least_loaded_available_agent_wins_whatever_the_order(
    agents: list[AgentLoad],
) -> None:
    chosen = pick_agent(agents)
    assert chosen is not None
    assert chosen.id == "agt_b"


def test_a_lighter_load_beats_a_longer_idle() -> None:
    idle_for_ages = make_agent("agt_idle", capacity=3, load=1, idle_since=NOW - timedelta(days=9))
    just_busy = make_agent("agt_busy", capacity=3, load=0, idle_since=NOW)
    assert pick_agent([idle_for_ages, just_busy]) == just_busy


LONGEST_IDLE = _every_order(
    make_agent("agt_recent", idle_since=NOW - timedelta(minutes=1)),
    make_agent("agt_oldest", idle_since=NOW - timedelta(hours=3)),
    make_agent("agt_middle", idle_since=NOW - timedelta(hours=1)),
)


@pytest.mark.parametrize("agents", LONGEST_IDLE, ids=map(_ids, LONGEST_IDLE))
def test_equal_loads_are_broken_by_the_longest_idle(agents: list[AgentLoad]) -> None:
    chosen = pick_agent(agents)
    assert chosen is not None
    assert chosen.id == "agt_oldest"


NEVER_ASSIGNED = _every_order(
    make_agent("agt_veteran", idle_since=datetime(2000, 1, 1, tzinfo=UTC)),
    make_agent("agt_newcomer", idle_since=None),
)


@pytest.mark.parametrize("agents", NEVER_ASSIGNED, ids=map(_ids, NEVER_ASSIGNED))
def test_an_agent_never_given_work_counts_as_the_idlest(agents: list[AgentLoad]) -> None:
    chosen = pick_agent(agents)
    assert chosen is not None
    assert chosen.id == "agt_newcomer"


def test_sub_second_idle_times_are_ordered_correctly() -> None:
    whole = make_agent("agt_whole", idle_since=NOW)
    later = make_agent("agt_later", idle_since=NOW + timedelta(microseconds=500))
    assert pick_agent([later, whole]) == whole


def test_a_complete_tie_is_broken_by_id_so_the_choice_is_deterministic() -> None:
    agents = [make_agent("agt_b"), make_agent("agt_a"), make_agent("agt_c")]
    assert all(pick_agent(list(p)) == make_agent("agt_a") for p in permutations(agents))


def test_the_longest_idle_agent_wins_even_when_idle_times_carry_different_utc_offsets() -> None:
    berlin_summer = timezone(timedelta(hours=2))
    # 10:00+02:00 is 08:00Z: idle an hour longer than 09:00Z, though its text sorts later.
    idle_longer = make_agent("agt_a", idle_since=datetime(2026, 7, 1, 10, 0, tzinfo=berlin_summer))
    idle_shorter = make_agent("agt_b", idle_since=datetime(2026, 7, 1, 9, 0, tzinfo=UTC))
    assert idle_longer.idle_since is not None
    assert idle_shorter.idle_since is not None
    assert idle_longer.idle_since < idle_shorter.idle_since
    assert pick_agent([idle_shorter, idle_longer]) == idle_longer


def test_a_paused_agent_is_never_chosen_even_when_it_is_the_least_loaded() -> None:
    resting = make_agent("agt_paused", status=AgentStatus.PAUSED, capacity=5, load=0)
    working = make_agent("agt_working", capacity=5, load=4, idle_since=NOW)
    assert pick_agent([resting, working]) == working


def test_a_full_agent_is_never_chosen_even_when_it_is_the_idlest() -> None:
    full = make_agent("agt_full", capacity=2, load=2, idle_since=None)
    roomy = make_agent("agt_roomy", capacity=5, load=4, idle_since=NOW)
    assert pick_agent([full, roomy]) == roomy


def test_an_excluded_agent_is_never_chosen_even_when_it_is_the_best() -> None:
    best = make_agent("agt_previous", capacity=5, load=0)
    other = make_agent("agt_other", capacity=5, load=3)
    assert pick_agent([best, other], exclude="agt_previous") == other


@pytest.mark.parametrize(
    ("agents", "exclude"),
    [
        ([], None),
        ([make_agent(status=AgentStatus.PAUSED)], None),
        ([make_agent(capacity=1, load=1)], None),
        ([make_agent("agt_only")], "agt_only"),
    ],
    ids=["nobody", "only-paused", "only-full", "only-excluded"],
)
def test_with_no_eligible_agent_nobody_is_chosen(
    agents: list[AgentLoad], exclude: str | None
) -> None:
    assert pick_agent(agents, exclude=exclude) is None


_idle_since = st.one_of(
    st.none(),
    st.integers(0, 10_000).map(lambda minutes: NOW - timedelta(minutes=minutes)),
)
_candidates = st.lists(
    st.builds(
        make_agent,
        st.sampled_from([f"agt_{n}" for n in range(6)]),
        status=st.sampled_from(list(AgentStatus)),
        capacity=st.integers(0, 4),
        load=st.integers(0, 5),
        idle_since=_idle_since,
    ),
    max_size=6,
    unique_by=lambda a: a.id,
)


def _idleness(agent: AgentLoad) -> tuple[int, datetime]:
    """Smaller is idler: never-assigned first, then the oldest ``idle_since``."""
    if agent.idle_since is None:
        return (0, NOW)
    return (1, agent.idle_since)


@settings(max_examples=300, deadline=None, database=None)
@given(agents=_candidates, exclude=st.one_of(st.none(), st.sampled_from(["agt_0", "agt_1"])))
def test_the_chosen_agent_is_an_eligible_one_that_no_other_eligible_agent_beats(
    agents: list[AgentLoad], exclude: str | None
) -> None:
    eligible = [a for a in agents if a.available and a.id != exclude]
    chosen = pick_agent(agents, exclude=exclude)
    if not eligible:
        assert chosen is None
        return
    assert chosen in eligible
    for other in eligible:
        assert chosen.load <= other.load
        if other.load == chosen.load:
            assert _idleness(chosen) <= _idleness(other)
