"""Assignment state machine (as data) and the incident status derived from assignments.

Pure: no database, no clock. Callers load the assignment, call `check_transition`, then
write the new status and its event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

QUEUED = "queued"
ACKNOWLEDGED = "acknowledged"
EN_ROUTE = "en_route"
ON_SCENE = "on_scene"
COMPLETED = "completed"
DECLINED = "declined"
ESCALATED = "escalated"
CANCELLED = "cancelled"

# In this order in the table's CHECK constraint (migrations/versions/0001).
ASSIGNMENT_STATUSES = (
    QUEUED, ACKNOWLEDGED, EN_ROUTE, ON_SCENE, COMPLETED, DECLINED, ESCALATED, CANCELLED
)
ASSIGNMENT_STATES = frozenset(ASSIGNMENT_STATUSES)
TERMINAL_STATES = frozenset({COMPLETED, DECLINED, CANCELLED})
OPEN_STATES = ASSIGNMENT_STATES - TERMINAL_STATES
# Waiting for the agency to answer: these are what acknowledgement timers watch.
PENDING_STATES = frozenset({QUEUED, ESCALATED})

INCIDENT_STATES = ("open", "dispatched", "acknowledged", "on_scene", "closed")

TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        QUEUED: frozenset({ACKNOWLEDGED, DECLINED, CANCELLED, ESCALATED}),
        # An escalated assignment is still the agency's: it may acknowledge late or decline.
        # Not escalated -> escalated: escalation happens once; later timers must not re-fire.
        ESCALATED: frozenset({ACKNOWLEDGED, DECLINED, CANCELLED}),
        ACKNOWLEDGED: frozenset({EN_ROUTE, ON_SCENE, COMPLETED, DECLINED, CANCELLED}),
        # Deviation from the first draft: en_route -> declined is allowed. A unit on its way
        # can break down or be diverted to a higher-priority incident; declining is what
        # re-routes the incident to the next agency of that kind, whereas cancelling would
        # silently leave the incident without one. Once on scene the agency completes (or a
        # supervisor cancels); it no longer declines.
        EN_ROUTE: frozenset({ON_SCENE, COMPLETED, DECLINED, CANCELLED}),
        ON_SCENE: frozenset({COMPLETED, CANCELLED}),
        COMPLETED: frozenset(),
        DECLINED: frozenset(),
        CANCELLED: frozenset(),
    }
)


class IllegalTransition(Exception):
    """A move the state machine does not allow (maps to 409 Conflict at the edge)."""

    def __init__(self, current: str, requested: str) -> None:
        self.current = current
        self.requested = requested
        if current not in ASSIGNMENT_STATES:
            why = f"unknown assignment status {current!r}"
        elif requested not in ASSIGNMENT_STATES:
            why = f"unknown assignment status {requested!r}"
        elif current in TERMINAL_STATES:
            why = f"{current!r} is terminal"
        else:
            allowed = ", ".join(sorted(TRANSITIONS[current]))
            why = f"allowed from {current!r}: {allowed}"
        super().__init__(f"illegal assignment transition {current!r} -> {requested!r} ({why})")


def check_transition(current: str, requested: str) -> None:
    """Raise IllegalTransition unless `current` -> `requested` is a legal move.

    Staying in the same state is not a move and is refused too; an endpoint that wants
    idempotent retries (a repeated ack) compares the statuses before calling this.
    """
    if requested not in TRANSITIONS.get(current, ()):
        raise IllegalTransition(current, requested)


def incident_status(assignment_statuses: Iterable[str], closed: bool) -> str:
    """The incident's status, derived from its assignments' statuses.

    Live assignments are those neither declined nor cancelled (completed ones count: that
    agency did its part). First matching rule wins:

    1. ``closed``       -- the incident is closed (the flag; assignments do not matter);
    2. ``open``         -- no live assignment: nobody is handling it, it needs dispatching
                           (no assignment yet, or all declined/cancelled);
    3. ``on_scene``     -- some assignment is on scene: help has arrived, even if another
                           agency of a multi-agency incident is still pending;
    4. ``dispatched``   -- some assignment is queued or escalated (waiting for an answer);
    5. ``acknowledged`` -- every live assignment is acknowledged, en route or completed
                           with at least one not yet completed;
    6. ``on_scene``     -- every live assignment is completed: the work at the scene is
                           done and the incident waits for the operator to close it.

    So a traffic accident with police on scene and the ambulance still queued is on_scene;
    with police acknowledged and the ambulance queued it is dispatched (not everyone has
    answered); with both acknowledged it is acknowledged. Unknown statuses: ValueError.
    """
    statuses = set(assignment_statuses)
    unknown = statuses - ASSIGNMENT_STATES
    if unknown:
        raise ValueError(f"unknown assignment status(es): {', '.join(sorted(unknown))}")
    if closed:
        return "closed"
    live = statuses - {DECLINED, CANCELLED}
    if not live:
        return "open"
    if ON_SCENE in live:
        return "on_scene"
    if live & PENDING_STATES:
        return "dispatched"
    if live & {ACKNOWLEDGED, EN_ROUTE}:
        return "acknowledged"
    return "on_scene"  # all live assignments completed, incident not yet closed
