"""Points as the PostGIS EWKB that geoalchemy2 carries, built and read with `struct`.

The intake builds and reads a few points per call; geoalchemy2's `from_shape`/`to_shape`
go through shapely and a context manager each time, about a tenth of the intake's Python
time. geoalchemy2 reads the EWKB header with `struct` itself; a 2-D point is that header
and two doubles. Anything else goes through shapely as before."""

from __future__ import annotations

import struct

import shapely
from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import to_shape
from shapely.geometry import Point

WGS84 = 4326
_POINT = 1
_SRID_FLAG = 0x20000000
_EWKB_POINT = struct.Struct("<BIIdd")  # little-endian, type | SRID flag, SRID, x, y
_WKB_POINT = struct.Struct("<BIdd")  # little-endian, type, x, y


def point_element(lon: float, lat: float, srid: int = WGS84) -> WKBElement:
    """The EWKB of a point, as `from_shape(Point(lon, lat), srid, extended=True)` makes."""
    return WKBElement(_EWKB_POINT.pack(1, _POINT | _SRID_FLAG, srid, lon, lat),
                      srid=srid, extended=True)


def lon_lat(element: WKBElement) -> tuple[float, float]:
    """A point element's coordinates, whether built here, by from_shape or read from
    PostGIS (hex EWKB)."""
    data = element.data
    raw = bytes.fromhex(data) if isinstance(data, str) else bytes(data)
    if raw[:1] == b"\x01":
        if len(raw) == _EWKB_POINT.size:
            _, kind, _, x, y = _EWKB_POINT.unpack(raw)
            if kind == _POINT | _SRID_FLAG:
                return x, y
        elif len(raw) == _WKB_POINT.size:
            _, kind, x, y = _WKB_POINT.unpack(raw)
            if kind == _POINT:
                return x, y
    point = to_shape(element)
    if not isinstance(point, Point):
        raise ValueError(f"not a point: {point.geom_type}")
    return point.x, point.y


def ewkb_hex(element: WKBElement) -> str:
    """Hex EWKB, with the SRID when the element knows one (for a geometry cast in SQL)."""
    if element.extended or element.srid <= 0:
        return element.desc
    geometry = shapely.set_srid(to_shape(element), element.srid)
    return shapely.to_wkb(geometry, hex=True, include_srid=True)
