"""Routing: which agency of each required kind gets an incident at a point.

Pure and in memory. An `AgencyIndex` is built once from the agency registry (PostGIS at
start, or the demo GeoJSON) and rebuilt when the registry's `version` changes; a decision
then takes microseconds and touches no database.

The rule, per required kind (first match wins):

1. coverage -- an active agency of that kind whose coverage covers the point (boundary
   included); when several do (a Polsek inside its Polres), the smallest coverage wins;
2. nearest  -- else the active station of that kind nearest to the point, if it is within
   `max_nearest_m` (great-circle distance);
3. fallback -- else the active fallback agency of that kind (`is_fallback`); with several,
   the nearest to the point (without a point: the smallest code);
4. unroutable -- else no agency (`agency_code` None).

An incident without a point goes straight to step 3. Agencies in `exclude` (those that
declined the incident) are never chosen, so the decline chain continues down the same
ladder: Polsek declines -> its Polres (next-smallest coverage) -> nearest -> fallback.
Ties are broken by the smaller agency code, so a decision never depends on input order.
`distance_m` is the great-circle distance from the point to the chosen agency's station
(None without a point, or when unroutable).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Literal, NamedTuple

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from dispatch.core.agency_kinds import AGENCY_KINDS
from dispatch.core.geodesy import haversine_from_radians

DEFAULT_MAX_NEAREST_M = 25_000.0
# Below this many coverages one vectorised prepared point-in-polygon test over all of them
# (~3 µs for the demo set) beats an STRtree envelope query followed by the same test.
STRTREE_MIN_COVERAGES = 64

RouteReason = Literal["coverage", "nearest", "fallback", "unroutable"]


@dataclass(frozen=True)
class AgencyRecord:
    code: str
    name: str
    kind: str
    station_lat: float
    station_lon: float
    coverage: BaseGeometry | None  # Polygon / MultiPolygon in lon/lat (EPSG:4326), or None
    active: bool = True
    is_fallback: bool = False


@dataclass(frozen=True, slots=True)
class RouteDecision:
    kind: str
    agency_code: str | None
    reason: RouteReason
    distance_m: float | None


class _Station(NamedTuple):
    code: str
    phi: float  # latitude, radians
    lam: float  # longitude, radians
    cos_phi: float


class _Point(NamedTuple):
    lat: float
    lon: float
    phi: float
    lam: float
    cos_phi: float


def _distance_m(p: _Point, s: _Station) -> float:
    """haversine_m, with the station's trigonometry precomputed (bit-for-bit the same)."""
    return haversine_from_radians(p.phi, p.lam, p.cos_phi, s.phi, s.lam, s.cos_phi)


def _check_lat_lon(what: str, lat: float, lon: float) -> None:
    # written so that NaN fails too
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"{what}: invalid coordinates lat={lat!r} lon={lon!r}")


def _polygonal(code: str, geom: BaseGeometry | None) -> BaseGeometry | None:
    """The coverage as a valid (Multi)Polygon, or None when there is none."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"agency {code}: coverage must be a polygon, not {geom.geom_type}")
    if not geom.is_valid:
        # An invalid ring stored in the registry must not take the whole index down.
        parts = [
            g
            for g in shapely.get_parts(shapely.make_valid(geom))
            if g.geom_type in ("Polygon", "MultiPolygon")
        ]
        geom = shapely.union_all(parts) if parts else None
        if geom is None or geom.is_empty:
            return None
    return geom


def _area_key(geom: BaseGeometry) -> float:
    # Planar area in degrees², scaled by cos(latitude) so it is proportional to the true
    # area anywhere; only used to rank nested coverages.
    return geom.area * math.cos(math.radians(geom.centroid.y))


class AgencyIndex:
    """Immutable routing index over a set of agencies; see the module docstring."""

    __slots__ = (
        "_cov_codes",
        "_cov_geoms",
        "_cov_kinds",
        "_fallbacks",
        "_records",
        "_station_of",
        "_stations",
        "_tree",
        "max_nearest_m",
        "version",
    )

    def __init__(
        self,
        records: Iterable[AgencyRecord],
        *,
        max_nearest_m: float = DEFAULT_MAX_NEAREST_M,
        version: int = 0,
    ) -> None:
        if not (0.0 <= max_nearest_m < math.inf):
            raise ValueError(f"max_nearest_m must be finite and >= 0, not {max_nearest_m!r}")
        self.max_nearest_m = float(max_nearest_m)
        self.version = version
        by_code: dict[str, AgencyRecord] = {}
        for rec in records:
            if rec.code in by_code:
                raise ValueError(f"duplicate agency code {rec.code!r}")
            _check_lat_lon(f"agency {rec.code} station", rec.station_lat, rec.station_lon)
            by_code[rec.code] = rec
        self._records = dict(sorted(by_code.items()))

        stations: dict[str, list[_Station]] = {}
        fallbacks: dict[str, list[_Station]] = {}
        self._station_of: dict[str, _Station] = {}
        covs: list[tuple[float, str, str, BaseGeometry]] = []
        for code, rec in self._records.items():  # code order: lists below stay sorted
            if not rec.active:
                continue
            phi, lam = math.radians(rec.station_lat), math.radians(rec.station_lon)
            st = _Station(code, phi, lam, math.cos(phi))
            self._station_of[code] = st
            stations.setdefault(rec.kind, []).append(st)
            if rec.is_fallback:
                fallbacks.setdefault(rec.kind, []).append(st)
            coverage = _polygonal(code, rec.coverage)
            if coverage is not None:
                covs.append((_area_key(coverage), code, rec.kind, coverage))
        self._stations = {k: tuple(v) for k, v in stations.items()}
        self._fallbacks = {k: tuple(v) for k, v in fallbacks.items()}

        # Coverages in preference order (smallest area, then smaller code): the covering
        # hits of a point come back in index order, so the first hit of a kind is the winner.
        covs.sort(key=lambda c: (c[0], c[1]))
        self._cov_codes = tuple(c[1] for c in covs)
        self._cov_kinds = tuple(c[2] for c in covs)
        self._cov_geoms = np.empty(len(covs), dtype=object)
        for i, c in enumerate(covs):
            self._cov_geoms[i] = c[3]
        shapely.prepare(self._cov_geoms)
        self._tree = (
            shapely.STRtree(self._cov_geoms) if len(covs) >= STRTREE_MIN_COVERAGES else None
        )

    @classmethod
    def build(
        cls,
        records: Iterable[AgencyRecord],
        *,
        max_nearest_m: float = DEFAULT_MAX_NEAREST_M,
        version: int = 0,
    ) -> AgencyIndex:
        return cls(records, max_nearest_m=max_nearest_m, version=version)

    # -- lookups -------------------------------------------------------------------------

    def get(self, code: str) -> AgencyRecord | None:
        """The record of `code` (inactive ones included), or None."""
        return self._records.get(code)

    @property
    def records(self) -> tuple[AgencyRecord, ...]:
        """All records, inactive ones included, in code order."""
        return tuple(self._records.values())

    @property
    def kinds(self) -> frozenset[str]:
        """Kinds that have at least one active agency."""
        return frozenset(self._stations)

    def __len__(self) -> int:
        return len(self._records)

    # -- routing ---------------------------------------------------------------------------

    def route(
        self,
        kinds: Sequence[str],
        lat: float | None,
        lon: float | None,
        *,
        exclude: Collection[str] = (),
    ) -> list[RouteDecision]:
        """One decision per distinct kind, in the order of `kinds` (duplicates dropped)."""
        if isinstance(kinds, str):
            raise TypeError("kinds must be a sequence of kinds, not a string")
        point = self._point(lat, lon)
        hits = self._covering(point) if point is not None else []
        excluded = exclude if isinstance(exclude, (set, frozenset)) else frozenset(exclude)
        decisions: list[RouteDecision] = []
        seen: set[str] = set()
        for kind in kinds:
            if kind not in seen:
                seen.add(kind)
                decisions.append(self._decide(kind, point, hits, excluded))
        return decisions

    def next_for_kind(
        self,
        kind: str,
        lat: float | None,
        lon: float | None,
        exclude: Collection[str] = (),
    ) -> RouteDecision:
        """The decision for one kind, skipping `exclude` (declines and escalation)."""
        return self.route((kind,), lat, lon, exclude=exclude)[0]

    def _point(self, lat: float | None, lon: float | None) -> _Point | None:
        if lat is None or lon is None:
            return None
        _check_lat_lon("incident point", lat, lon)
        phi = math.radians(lat)
        return _Point(lat, lon, phi, math.radians(lon), math.cos(phi))

    def _covering(self, p: _Point) -> list[int]:
        """Indices of the coverages covering the point, in preference order."""
        if self._tree is None:
            if not len(self._cov_geoms):
                return []
            # intersects == covers when one side is a point (boundary counts)
            hits: list[int] = np.flatnonzero(
                shapely.intersects_xy(self._cov_geoms, p.lon, p.lat)).tolist()
            return hits
        cand = self._tree.query(shapely.Point(p.lon, p.lat))
        if not len(cand):
            return []
        cand.sort()
        inside = shapely.intersects_xy(self._cov_geoms[cand], p.lon, p.lat)
        covering: list[int] = cand[inside].tolist()
        return covering

    def _decide(
        self,
        kind: str,
        p: _Point | None,
        hits: list[int],
        excluded: Collection[str],
    ) -> RouteDecision:
        if p is not None:
            for i in hits:
                if self._cov_kinds[i] == kind and self._cov_codes[i] not in excluded:
                    code = self._cov_codes[i]
                    return RouteDecision(
                        kind, code, "coverage", _distance_m(p, self._station_of[code])
                    )
            best = self._nearest(p, self._stations.get(kind, ()), excluded)
            if best is not None and best[1] <= self.max_nearest_m:
                return RouteDecision(kind, best[0], "nearest", best[1])
            best = self._nearest(p, self._fallbacks.get(kind, ()), excluded)
            if best is not None:
                return RouteDecision(kind, best[0], "fallback", best[1])
            return RouteDecision(kind, None, "unroutable", None)
        for st in self._fallbacks.get(kind, ()):  # code order
            if st.code not in excluded:
                return RouteDecision(kind, st.code, "fallback", None)
        return RouteDecision(kind, None, "unroutable", None)

    @staticmethod
    def _nearest(
        p: _Point, stations: Sequence[_Station], excluded: Collection[str]
    ) -> tuple[str, float] | None:
        best: tuple[str, float] | None = None
        for st in stations:  # code order, strict < : equal distance keeps the smaller code
            if st.code in excluded:
                continue
            d = _distance_m(p, st)
            if best is None or d < best[1]:
                best = (st.code, d)
        return best


def load_agencies_geojson(path: str | PathLike[str]) -> list[AgencyRecord]:
    """Agencies from the demo GeoJSON (a FeatureCollection; geometry = coverage or null).

    Properties used: code, name, kind, station {lat, lon}, fallback_for_kind, and an
    optional `active` (default true). Anything malformed is a ValueError naming the feature.
    """
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: not a GeoJSON FeatureCollection")
    records: list[AgencyRecord] = []
    for n, feature in enumerate(doc.get("features") or []):
        props = feature.get("properties") or {}
        where = f"{path}: feature {n} ({props.get('code', '?')})"
        try:
            code, name, kind = str(props["code"]), str(props["name"]), str(props["kind"])
            lat, lon = float(props["station"]["lat"]), float(props["station"]["lon"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: missing or malformed property {exc}") from exc
        if kind not in AGENCY_KINDS:
            raise ValueError(f"{where}: unknown kind {kind!r}")
        geometry = feature.get("geometry")
        try:
            coverage = shape(geometry) if geometry else None
        except (KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
            raise ValueError(f"{where}: malformed geometry: {exc}") from exc
        records.append(
            AgencyRecord(
                code=code,
                name=name,
                kind=kind,
                station_lat=lat,
                station_lon=lon,
                coverage=coverage,
                active=bool(props.get("active", True)),
                is_fallback=bool(props.get("fallback_for_kind", False)),
            )
        )
    return records
