"""Who does something: the acting user and what the process knows that every domain needs
(settings, the agency directory)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from agencies.registry import AgencyDirectory
from dispatch.core.settings import Settings


@dataclass(frozen=True)
class Actor:
    """Who does something, and what the process knows that the domain needs."""

    name: str
    settings: Settings
    agencies: AgencyDirectory
    user_id: uuid.UUID | None = None


