"""Actors are written ``<kind>:<name>`` wherever they are stored or sent; ``domain.actors``
makes and reads those strings."""

from __future__ import annotations

import pytest

from domain.actors import Actor, ActorKind
from domain.costs import BUDGET_ACTOR
from domain.issues import DISPATCHER
from domain.runs import SWEEPER


def test_each_actor_is_written_as_it_always_was() -> None:
    assert str(Actor.agent("agt_1")) == "agent:agt_1"
    assert str(Actor.user("tok_1")) == "user:tok_1"
    assert str(Actor.operator()) == "user:operator"
    assert str(Actor.system("dispatcher")) == "system:dispatcher"
    assert (DISPATCHER, SWEEPER, BUDGET_ACTOR) == (
        "system:dispatcher",
        "system:sweeper",
        "system:budget",
    )


@pytest.mark.parametrize(
    "text", ["agent:agt_1", "user:alice", "user:operator", "system:sweeper", "user:a:b", "agent:"]
)
def test_what_is_written_reads_back_as_the_same_actor(text: str) -> None:
    actor = Actor.parse(text)
    assert actor is not None and str(actor) == text


def test_only_an_agent_has_an_agent_id() -> None:
    assert Actor.parse("agent:agt_7") == Actor(ActorKind.AGENT, "agt_7")
    assert Actor.agent("agt_7").agent_id == "agt_7"
    assert Actor.user("alice").agent_id is None
    assert Actor.system("dispatcher").agent_id is None


@pytest.mark.parametrize("text", ["", "agt_1", "robot:r2", "Agent:agt_1", ":x"])
def test_anything_else_is_not_an_actor(text: str) -> None:
    assert Actor.parse(text) is None
