"""The locate step of the intake: every candidate position a call carries (AML, typed point,
serving cell, address, AML that came earlier) and the area of the chosen one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.actor import Actor
from dispatch.calls.input import CallInput, ParsedCall
from dispatch.calls.reads import intake_reads, possible_duplicates
from dispatch.incidents.location import Located, locate
from geo.aml import parse_aml
from geo.areas import AreaIndex
from geo.cells import locate_cell
from geo.locate import Candidate, aml_candidate, choose
from geo.search import geocode_address


@dataclass
class Locating:
    """Everything learned about where a call is."""

    candidates: list[Candidate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    matched_aml_messages: list[uuid.UUID] = field(default_factory=list)




async def gather_candidates(session: AsyncSession, data: CallInput) -> Locating:
    """The candidates the request itself carries (AML, typed position, serving cell,
    address); AML that came before the call is added by the intake's read."""
    found = Locating()
    if data.aml:
        fix = parse_aml(data.aml)
        found.warnings += [f"aml: {w}" for w in fix.warnings]
        candidate = aml_candidate(fix)
        if candidate is None:
            found.warnings.append("aml: no usable position; the next source was used")
        else:
            found.candidates.append(candidate)
    if data.location is not None:
        found.candidates.append(Candidate("manual", data.location.lat, data.location.lon,
                                          data.location.accuracy_m))
    if data.cell is not None:
        cell = await locate_cell(session, data.cell["mcc"], data.cell["mnc"],
                                 data.cell["lac"], data.cell["cid"])
        if cell is None:
            found.warnings.append("cell: the serving cell is not in the cell table")
        else:
            found.candidates.append(Candidate("cell", cell.lat, cell.lon, cell.radius_m))
    if data.address:
        hit = await geocode_address(session, data.address)
        if hit is None:
            found.warnings.append("address: no confident match in the areas or gazetteer")
        else:
            found.candidates.append(Candidate("address", hit.lat, hit.lon, hit.radius_m))
    return found


def add_pending_aml(found: Locating, pending: list[dict[str, Any]]) -> None:
    """AML that reached the center before the operator registered the call (newest
    first), placed after the request's own AML so that one wins a tie."""
    candidates = []
    for message in pending:
        message_id = uuid.UUID(message["id"])
        found.matched_aml_messages.append(message_id)
        candidate = aml_candidate(parse_aml(message["raw"]))
        if candidate is not None:
            candidates.append(replace(candidate, aml_message_id=message_id))
    own_aml = sum(1 for c in found.candidates if c.source == "aml")
    found.candidates[own_aml:own_aml] = candidates


@dataclass(frozen=True)
class CallPosition:
    """Step 2's answer: where the call is, and what the intake's one read found there."""

    locating: Locating
    chosen: Candidate | None
    located: Located | None
    duplicates: list[dict[str, Any]]
    repeat_count: int
    number_value: int | None  # drawn for the incident number when one will be opened


async def locate_call(
    session: AsyncSession, actor: Actor, areas: AreaIndex, parsed: ParsedCall, *,
    numbered: bool, now: datetime,
) -> CallPosition:
    """Step 2 of the intake: gather the candidates, choose one, find its area. The same
    read (calls/reads.py) that looks for possible duplicates of the provisional choice
    also brings the AML that came before the call; when one of those changes the choice,
    the position is located, and its duplicates looked up, again."""
    locating = await gather_candidates(session, parsed.data)
    first_choice = choose(locating.candidates)
    provisional = locate(areas, first_choice)
    category = parsed.category.code if parsed.category else None
    reads = await intake_reads(session, actor, parsed.caller, numbered=numbered,
                               category=category, located=provisional, now=now)
    add_pending_aml(locating, reads.pending_aml)
    chosen = choose(locating.candidates)
    located = provisional if chosen is first_choice else locate(areas, chosen)
    if chosen is not None and located is not None and located.area is None:
        locating.warnings.append("the position is outside the service area")
    duplicates = reads.duplicates
    if located != provisional:  # an earlier AML moved it
        duplicates = await possible_duplicates(session, actor, category, located, now)
    return CallPosition(locating=locating, chosen=chosen, located=located,
                        duplicates=duplicates, repeat_count=reads.repeat_count,
                        number_value=reads.number_value)
