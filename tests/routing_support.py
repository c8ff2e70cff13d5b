"""Shared by the routing tests (tests/test_routing_*.py): the demo agencies, loaded once and
indexed, with helpers to place points, build records and follow decline chains."""

from __future__ import annotations

from pathlib import Path

from agencies.routing import AgencyIndex, AgencyRecord, RouteDecision, load_agencies_geojson
from dispatch.core.agency_kinds import AGENCY_KINDS
from dispatch.core.geodesy import haversine_m

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path("/work/shared/data")


def _data_file(bundled: str, shared: str) -> Path:
    path = ROOT / "dispatch" / "tools" / "demo_data" / bundled
    return path if path.exists() else SHARED / shared


AGENCIES_FILE = _data_file("agencies.geojson", "mojokerto/agencies.geojson")
CATEGORIES_FILE = _data_file("categories.json", "categories.json")

RECORDS = load_agencies_geojson(AGENCIES_FILE)
INDEX = AgencyIndex.build(RECORDS)
BY_CODE = {r.code: r for r in RECORDS}
COVERAGE = {r.code: r.coverage for r in RECORDS}
ALL_KINDS = AGENCY_KINDS
FALLBACK = {
    "police": "POLRES-MJK-KOTA",
    "fire": "DAMKAR-MJK-KOTA",
    "health": "PSC119-MJK-KOTA",
    "disaster": "BPBD-MJK-KOTA",
    "sar": "BASARNAS-SBY",
    "utility": "PLN-UP3-MJK",
}
JAKARTA = (-6.2, 106.8)
R = 6_371_008.8  # the mean Earth radius the module uses


def inside(code: str) -> tuple[float, float]:
    """A (lat, lon) inside `code`'s coverage."""
    p = COVERAGE[code].representative_point()
    return p.y, p.x


def station_distance(code: str, lat: float, lon: float) -> float:
    rec = BY_CODE[code]
    return haversine_m(lat, lon, rec.station_lat, rec.station_lon)


def rec(code, kind, lat, lon, coverage=None, *, active=True, fallback=False) -> AgencyRecord:
    return AgencyRecord(code, code.title(), kind, lat, lon, coverage, active, fallback)


def codes(decisions: list[RouteDecision]) -> list[str | None]:
    return [d.agency_code for d in decisions]


def decline_chain(index: AgencyIndex, kind: str, lat, lon) -> list[RouteDecision]:
    """Decline every chosen agency in turn until nobody is left."""
    declined: set[str] = set()
    chain = []
    while True:
        d = index.next_for_kind(kind, lat, lon, frozenset(declined))
        chain.append(d)
        if d.agency_code is None:
            return chain
        assert d.agency_code not in declined
        declined.add(d.agency_code)
