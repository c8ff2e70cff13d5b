"""Assignment state machine and derived incident status (dispatch/assignments/lifecycle.py)."""

from __future__ import annotations

import itertools

import pytest

from dispatch.assignments.lifecycle import (
    ASSIGNMENT_STATES,
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    IllegalTransition,
    check_transition,
    incident_status,
)

STATES = [
    "queued",
    "acknowledged",
    "en_route",
    "on_scene",
    "completed",
    "declined",
    "escalated",
    "cancelled",
]

# The whole table, written out independently of the module: (from, to) pairs that are legal.
LEGAL = {
    ("queued", "acknowledged"),
    ("queued", "declined"),
    ("queued", "cancelled"),
    ("queued", "escalated"),
    ("escalated", "acknowledged"),
    ("escalated", "declined"),
    ("escalated", "cancelled"),
    ("acknowledged", "en_route"),
    ("acknowledged", "on_scene"),
    ("acknowledged", "completed"),
    ("acknowledged", "declined"),
    ("acknowledged", "cancelled"),
    ("en_route", "on_scene"),
    ("en_route", "completed"),
    ("en_route", "declined"),  # a unit that breaks down or is diverted hands it back
    ("en_route", "cancelled"),
    ("on_scene", "completed"),
    ("on_scene", "cancelled"),
}
ALL_PAIRS = list(itertools.product(STATES, STATES))


def test_state_sets_match_the_contract():
    assert set(STATES) == ASSIGNMENT_STATES == set(TRANSITIONS)
    assert {"completed", "declined", "cancelled"} == TERMINAL_STATES
    assert {"queued", "escalated", "acknowledged", "en_route", "on_scene"} == OPEN_STATES
    assert not OPEN_STATES & TERMINAL_STATES
    assert all(not TRANSITIONS[s] for s in TERMINAL_STATES)
    assert {(a, b) for a in STATES for b in TRANSITIONS[a]} == LEGAL


@pytest.mark.parametrize(("current", "requested"), sorted(LEGAL))
def test_legal_transition(current, requested):
    assert check_transition(current, requested) is None


@pytest.mark.parametrize(("current", "requested"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transition(current, requested):
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, requested)
    assert (info.value.current, info.value.requested) == (current, requested)
    assert f"{current!r} -> {requested!r}" in str(info.value)


def test_illegal_transition_messages_say_why():
    with pytest.raises(IllegalTransition, match="'completed' is terminal"):
        check_transition("completed", "acknowledged")
    with pytest.raises(IllegalTransition, match="allowed from 'on_scene': cancelled, completed"):
        check_transition("on_scene", "declined")
    with pytest.raises(IllegalTransition, match="unknown assignment status 'lost'"):
        check_transition("queued", "lost")
    with pytest.raises(IllegalTransition, match="unknown assignment status 'lost'"):
        check_transition("lost", "queued")
    # a repeated acknowledgement is not a move
    with pytest.raises(IllegalTransition):
        check_transition("acknowledged", "acknowledged")


def test_every_open_state_can_reach_a_terminal_state():
    for state in OPEN_STATES:
        seen, todo = {state}, [state]
        while todo:
            for nxt in TRANSITIONS[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert {"completed", "cancelled"} <= seen


@pytest.mark.parametrize(
    ("statuses", "closed", "expected"),
    [
        # nobody handling it
        ([], False, "open"),
        (["declined"], False, "open"),
        (["declined", "cancelled"], False, "open"),
        # waiting for an answer
        (["queued"], False, "dispatched"),
        (["escalated"], False, "dispatched"),
        (["declined", "queued"], False, "dispatched"),  # re-routed after a decline
        (["acknowledged", "queued"], False, "dispatched"),  # police yes, ambulance not yet
        (["en_route", "escalated"], False, "dispatched"),
        (["completed", "queued"], False, "dispatched"),
        # everyone live has answered
        (["acknowledged"], False, "acknowledged"),
        (["en_route"], False, "acknowledged"),
        (["acknowledged", "en_route"], False, "acknowledged"),
        (["en_route", "declined", "cancelled"], False, "acknowledged"),
        (["completed", "en_route"], False, "acknowledged"),
        # someone is there
        (["on_scene"], False, "on_scene"),
        (["on_scene", "queued"], False, "on_scene"),  # help has arrived, ambulance pending
        (["on_scene", "acknowledged", "declined"], False, "on_scene"),
        (["on_scene", "completed"], False, "on_scene"),
        # all done, waiting for the operator to close
        (["completed"], False, "on_scene"),
        (["completed", "completed", "declined"], False, "on_scene"),
        # closed wins
        (["queued"], True, "closed"),
        (["on_scene", "en_route"], True, "closed"),
        ([], True, "closed"),
    ],
)
def test_incident_status(statuses, closed, expected):
    assert incident_status(statuses, closed) == expected
    assert incident_status(iter(statuses), closed) == expected  # any iterable, once


def test_incident_status_rejects_unknown_statuses():
    with pytest.raises(ValueError, match="lost"):
        incident_status(["queued", "lost"], False)
