"""In-memory reverse geocoding: a point to its kelurahan/desa, kecamatan, kab/kota and provinsi.

Pure Python over shapely 2; no database here. The caller loads `Area` rows (from PostGIS at
start with geo.area_store, or from GeoJSON with geo.area_geojson) and builds an `AreaIndex`,
which answers `locate(lat, lon)` in microseconds. The values (`Area`, `AreaMatch`, codes) are
in geo.area_codes.

Rules (the data has sliver gaps and overlaps between desa polygons, see data/README.md):

- Border / overlap rule: a point covered by several kelurahan polygons (on a shared border,
  or inside a sliver overlap) resolves to the kelurahan with the smallest code. Codes are
  compared as strings; Kemendagri codes are fixed width (PP.KK.CC.DDDD) so this is also the
  numeric order. "Covered" includes the boundary: a point on a polygon's edge is in it.
- Gap rule: a point in no polygon but within `gap_tolerance_m` metres of one resolves to the
  nearest kelurahan (distance measured in a local equirectangular projection around the
  point; equal distances again go to the smallest code) with `exact=False`. Further away,
  it is outside the service area: `None`.
- Invalid input (non-finite, non-numeric, lat outside [-90, 90], lon outside [-180, 180])
  gives `None`, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from dispatch.core.geodesy import M_PER_DEG
from geo.area_codes import Area, AreaMatch, AreaRef, level_of_code, parent_code

_MIN_COS_LAT = 0.01  # keeps the degree bound finite near the poles (no service area there)
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
_ORIGIN = shapely.Point(0.0, 0.0)


def _valid_lon_lat(lat: Any, lon: Any) -> tuple[float, float] | None:
    try:
        lat_f = float(lat)
        lon_f = float(lon)
    except (TypeError, ValueError, OverflowError):
        return None
    # NaN fails every comparison, infinities fail the range check.
    if -90.0 <= lat_f <= 90.0 and -180.0 <= lon_f <= 180.0:
        return lon_f, lat_f
    return None


def _metre_scales(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude around `lat`."""
    cos_lat = max(math.cos(math.radians(lat)), _MIN_COS_LAT)
    return M_PER_DEG * cos_lat, M_PER_DEG


class AreaIndex:
    """Kelurahan polygons in an STRtree, ordered by code, with prebuilt answers."""

    __slots__ = (
        "_bounds",
        "_exact",
        "_gap_tolerance_m",
        "_geoms",
        "_geoms_list",
        "_near",
        "_tree",
        "version",
    )

    def __init__(
        self,
        geoms: np.ndarray,
        exact: list[AreaMatch],
        near: list[AreaMatch],
        *,
        gap_tolerance_m: float,
        version: int | str,
    ) -> None:
        self._geoms = geoms
        self._geoms_list: list[BaseGeometry] = geoms.tolist()
        self._bounds: list[tuple[float, float, float, float]] = [
            tuple(row) for row in shapely.bounds(geoms).tolist()
        ]
        self._tree = shapely.STRtree(geoms)
        self._exact = exact
        self._near = near
        self._gap_tolerance_m = gap_tolerance_m
        self.version = version

    @classmethod
    def build(
        cls,
        areas: Iterable[Area],
        *,
        gap_tolerance_m: float = 50.0,
        version: int | str = 0,
        warm_up: bool = True,
    ) -> AreaIndex:
        """Index the kelurahan rows that have a polygon; other rows only give parent names.

        A parent missing from `areas` is named by its code. Raises ValueError for a
        malformed or duplicated kelurahan code, or a non-polygonal kelurahan geometry.

        GEOS builds a prepared polygon's point-in-polygon edge index lazily, on the
        polygon's second test (the first costs ~6 µs, the second ~30 µs on a big polygon,
        later ones ~4 µs). `warm_up` pays that now for every polygon (measured: 1.2 s and
        +360 MB for the 83k national polygons, nothing noticeable for a province) so that
        no live lookup does; False leaves it to the first lookups.
        """
        if not math.isfinite(gap_tolerance_m) or gap_tolerance_m < 0:
            raise ValueError(f"gap_tolerance_m must be >= 0, got {gap_tolerance_m!r}")
        names: dict[str, str] = {}
        kelurahan: dict[str, Area] = {}
        for area in areas:
            if area.level != "kelurahan":
                names.setdefault(area.code, area.name)
                continue
            if level_of_code(area.code) != "kelurahan":
                raise ValueError(f"kelurahan {area.name!r} has a non-kelurahan code {area.code!r}")
            if area.code in kelurahan:
                raise ValueError(f"duplicate kelurahan code {area.code!r}")
            kelurahan[area.code] = area

        rows = [
            area
            for _, area in sorted(kelurahan.items())  # by code (unique)
            if area.geometry is not None and not area.geometry.is_empty
        ]
        geoms = np.empty(len(rows), dtype=object)
        geoms[:] = [row.geometry for row in rows]
        if len(geoms):
            types = shapely.get_type_id(geoms)
            bad = ~np.isin(types, _POLYGONAL)
            if bad.any():
                row = rows[int(np.flatnonzero(bad)[0])]
                raise ValueError(f"kelurahan {row.code} geometry is not a (multi)polygon")
            shapely.prepare(geoms)
            if warm_up:  # two tests per polygon (at a bbox corner): see the docstring
                bounds = shapely.bounds(geoms)
                for _ in range(2):
                    shapely.intersects_xy(geoms, bounds[:, 0], bounds[:, 1])

        refs: dict[str, AreaRef] = {}

        def ref(code: str) -> AreaRef:
            found = refs.get(code)
            if found is None:
                found = refs[code] = AreaRef(code, names.get(code, code))
            return found

        exact: list[AreaMatch] = []
        near: list[AreaMatch] = []
        for row in rows:
            kec = parent_code(row.code) or ""
            kab = parent_code(kec) or ""
            prov = parent_code(kab) or ""
            parents = (ref(kec), ref(kab), ref(prov))
            own = AreaRef(row.code, row.name)
            exact.append(AreaMatch(own, *parents, exact=True))
            near.append(AreaMatch(own, *parents, exact=False))
        return cls(geoms, exact, near, gap_tolerance_m=float(gap_tolerance_m), version=version)

    def __len__(self) -> int:
        return len(self._geoms_list)

    @property
    def gap_tolerance_m(self) -> float:
        return self._gap_tolerance_m

    def locate(self, lat: float, lon: float) -> AreaMatch | None:
        """The kelurahan at (lat, lon) with its parents, or None outside the service area."""
        lon_lat = _valid_lon_lat(lat, lon)
        if lon_lat is None:
            return None
        x, y = lon_lat
        # One STRtree query with a box of the gap tolerance around the point serves both the
        # exact test and the gap fallback (a box is cheaper to make than a Point, and this
        # measured faster than query(point, predicate="intersects"), which does not use the
        # prepared polygons). Candidates go in code order, so the first hit is the smallest.
        bound = self._bound_deg(y)
        hits = self._tree.query(shapely.box(x - bound, y - bound, x + bound, y + bound))
        candidates: list[int] = hits.tolist()
        if len(candidates) > 1:
            candidates.sort()
        bounds = self._bounds
        geoms = self._geoms_list
        intersects_xy = shapely.intersects_xy
        for i in candidates:
            min_x, min_y, max_x, max_y = bounds[i]
            if min_x <= x <= max_x and min_y <= y <= max_y and intersects_xy(geoms[i], x, y):
                return self._exact[i]
        nearest = self._nearest(x, y, candidates)
        return None if nearest is None else self._near[nearest]

    def locate_many(self, points: Sequence[tuple[float, float]]) -> list[AreaMatch | None]:
        """`locate` for many (lat, lon) pairs at once: the same answers, vectorised."""
        n = len(points)
        if n == 0:
            return []
        try:
            coords = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            coords = None
        if coords is None or coords.shape != (n, 2):  # ragged or odd input: one at a time
            return [self.locate(*_lat_lon_pair(p)) for p in points]
        lat = coords[:, 0]
        lon = coords[:, 1]
        with np.errstate(invalid="ignore"):
            valid = (lat >= -90.0) & (lat <= 90.0) & (lon >= -180.0) & (lon <= 180.0)
        result: list[AreaMatch | None] = [None] * n
        valid_idx = np.flatnonzero(valid)
        if not len(valid_idx) or not len(self._geoms_list):
            return result
        xs = lon[valid_idx]
        ys = lat[valid_idx]
        # Exact step: bbox pairs from the tree, then the prepared test on every pair; the
        # smallest polygon index (= smallest code) per point wins.
        pair_pt, pair_geom = self._tree.query(shapely.points(xs, ys))
        hit = shapely.intersects_xy(self._geoms[pair_geom], xs[pair_pt], ys[pair_pt])
        unset = np.iinfo(np.int64).max
        best = np.full(len(valid_idx), unset, dtype=np.int64)
        np.minimum.at(best, pair_pt[hit], pair_geom[hit])
        found = best != unset
        exact = self._exact
        for k, g in zip(valid_idx[found].tolist(), best[found].tolist(), strict=True):
            result[k] = exact[g]
        # Gap step for the rest: tolerance boxes, then the same metric check as `locate`.
        missing = np.flatnonzero(~found)
        if not len(missing) or self._gap_tolerance_m <= 0:
            return result
        mx = xs[missing]
        my = ys[missing]
        bound = np.array([self._bound_deg(y) for y in my.tolist()])
        pair_pt, pair_geom = self._tree.query(
            shapely.box(mx - bound, my - bound, mx + bound, my + bound)
        )
        if not len(pair_pt):
            return result
        order = np.lexsort((pair_geom, pair_pt))
        pair_pt = pair_pt[order]
        pair_geom = pair_geom[order]
        starts = np.flatnonzero(np.r_[True, pair_pt[1:] != pair_pt[:-1]])
        ends = np.r_[starts[1:], len(pair_pt)]
        near = self._near
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            k = int(pair_pt[start])
            nearest = self._nearest(float(mx[k]), float(my[k]), pair_geom[start:end].tolist())
            if nearest is not None:
                result[int(valid_idx[missing[k]])] = near[nearest]
        return result

    def _bound_deg(self, lat: float) -> float:
        """Half-size in degrees of a box holding every point within the gap tolerance."""
        # Metric distance >= min(metres per degree) * degree distance, and the lon degree is
        # the shorter one away from the equator (near it, the lat degree is used).
        return self._gap_tolerance_m / min(_metre_scales(lat))

    def _nearest(self, x: float, y: float, candidates: list[int]) -> int | None:
        """The candidate nearest to (x, y) within the gap tolerance; ties: smallest code.

        `candidates` are polygon indices in ascending order (= code order); distances are
        measured in metres in an equirectangular projection centred on the point.
        """
        tolerance_m = self._gap_tolerance_m
        if tolerance_m <= 0 or not candidates:
            return None
        scale_x, scale_y = _metre_scales(y)
        offset = np.array([x, y])
        scale = np.array([scale_x, scale_y])
        best: int | None = None
        best_m = math.inf
        for i in candidates:
            local = shapely.transform(self._geoms_list[i], lambda c: (c - offset) * scale)
            distance_m = float(shapely.distance(local, _ORIGIN))
            if distance_m <= tolerance_m and distance_m < best_m:
                best, best_m = i, distance_m
        return best


def _lat_lon_pair(point: Any) -> tuple[Any, Any]:
    try:
        lat, lon = point
    except (TypeError, ValueError):
        return math.nan, math.nan
    return lat, lon
