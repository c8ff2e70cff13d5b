"""Location precedence: every candidate position of a call is kept; one is chosen.

AML (the handset's own fix) > a point the operator typed > the serving cell > the address
text. Plain values only; the database side lives in dispatch/calls/."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from geo.aml_fix import AmlFix

PRECEDENCE = ("aml", "manual", "cell", "address")
# A source the operator typed or confirmed is never replaced silently by a late AML.
OPERATOR_SOURCES = frozenset({"manual"})


@dataclass(frozen=True)
class Candidate:
    source: str  # aml | manual | cell | address
    lat: float
    lon: float
    accuracy_m: float | None = None
    confidence_pct: int | None = None
    fix_time: datetime | None = None
    aml_message_id: uuid.UUID | None = None  # the stored AML message it came from


def rank(source: str | None) -> int:
    """Lower is stronger; no location at all is the weakest."""
    return PRECEDENCE.index(source) if source in PRECEDENCE else len(PRECEDENCE)


def choose(candidates: list[Candidate]) -> Candidate | None:
    return min(candidates, key=lambda c: rank(c.source), default=None)


def aml_candidate(fix: AmlFix) -> Candidate | None:
    """The AML fix as a candidate, or None when it carries no usable position."""
    if not fix.has_position or fix.lat is None or fix.lon is None:
        return None
    return Candidate(
        source="aml",
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.radius_m,
        confidence_pct=fix.level_of_confidence_pct,
        fix_time=fix.time_of_positioning_utc,
    )


def late_aml_replaces(current_source: str | None) -> bool:
    """A late AML replaces a weaker machine/derived location, never an operator's."""
    return current_source not in OPERATOR_SOURCES and rank("aml") < rank(current_source)

