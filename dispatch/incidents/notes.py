"""Notes on an incident: what a second caller added, what an agency found on scene.

Append-only: there is no edit and no delete (a correction is a new note), and the database
refuses both (migration 0013). Each note is an `incident.note` event too, so it stands in
the incident's timeline and goes to the supervisors' feed and every assigned agency's.

A closed incident takes notes: a correction after closing is legitimate and the record
should carry it. An incident merged into another does not: its notes moved to the
surviving incident, and a note belongs where the calls are (409, naming the survivor)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.actor import Actor
from dispatch.core.errors import Conflict, Invalid
from dispatch.incidents.events import emit
from dispatch.incidents.reads import visible_incident
from dispatch.models import IncidentNote

MAX_NOTE_CHARS = 4000


def note_view(note: IncidentNote) -> dict[str, Any]:
    return {
        "id": str(note.id),
        "incident_id": str(note.incident_id),
        "text": note.text,
        "author": note.author,
        "role": note.role,
        "agency_code": note.agency_code,
        "at": note.at.isoformat(),
    }


async def notes_of(session: AsyncSession, incident_id: uuid.UUID) -> list[dict[str, Any]]:
    """The incident's notes, oldest first."""
    rows = await session.scalars(
        select(IncidentNote).where(IncidentNote.incident_id == incident_id)
        .order_by(IncidentNote.at, IncidentNote.id)
    )
    return [note_view(n) for n in rows]


async def add_note(
    session: AsyncSession,
    incident_id: uuid.UUID,
    actor: Actor,
    *,
    text: str,
    role: str,
    agency_code: str | None,
) -> dict[str, Any]:
    """Append a note (1–4,000 characters once stripped) by `actor`, writing as `role`
    (and `agency_code` for an agency account, which may write only on incidents assigned
    to it: others are a 404, as for reading them). The incident is row-locked, so a note
    never lands on an incident while a merge moves that incident's notes away."""
    text = text.strip()
    if not 1 <= len(text) <= MAX_NOTE_CHARS:
        raise Invalid(f"text must be 1 to {MAX_NOTE_CHARS} characters (not counting the "
                      "surrounding white space)", field="text")
    incident = await visible_incident(session, incident_id, only_agency=agency_code,
                                      for_update=True)
    if incident.merged_into is not None:
        raise Conflict("the incident was merged into another: add the note there",
                       merged_into=str(incident.merged_into))
    now = datetime.now(UTC)
    note = IncidentNote(id=uuid.uuid4(), incident_id=incident.id, text=text,
                        author=actor.name, author_id=actor.user_id, role=role,
                        agency_code=agency_code, at=now)
    session.add(note)
    incident.updated_at = now
    await session.flush()
    view = note_view(note)
    await emit(session, "incident.note", incident, actor, after={"note": view},
               extra={"note": view})
    return view
