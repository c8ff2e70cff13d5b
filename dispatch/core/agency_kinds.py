"""The kinds of agency a 112 center routes to: the one list of them."""

from __future__ import annotations

from typing import Literal, get_args

AgencyKind = Literal["police", "fire", "health", "disaster", "sar", "utility"]
AGENCY_KINDS: tuple[str, ...] = get_args(AgencyKind)
