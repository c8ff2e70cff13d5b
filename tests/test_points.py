"""geo.points builds and reads exactly what geoalchemy2 and shapely would."""

from __future__ import annotations

import random

import shapely
from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape, to_shape
from shapely import Point

from geo.points import ewkb_hex, lon_lat, point_element


def _points(n: int = 500) -> list[tuple[float, float]]:
    rng = random.Random(112)
    fixed = [(112.4338, -7.4722), (0.0, 0.0), (-180.0, -90.0), (180.0, 90.0)]
    return fixed + [(rng.uniform(-180, 180), rng.uniform(-90, 90)) for _ in range(n)]


def test_point_element_is_geoalchemy2s_extended_wkb() -> None:
    for lon, lat in _points():
        ours = point_element(lon, lat)
        theirs = from_shape(Point(lon, lat), srid=4326, extended=True)
        assert bytes(ours.data) == bytes(theirs.data)
        assert (ours.srid, ours.extended) == (4326, True)
        assert to_shape(ours).equals_exact(Point(lon, lat), 0)


def test_lon_lat_reads_every_form_of_a_point_exactly() -> None:
    for lon, lat in _points():
        extended = from_shape(Point(lon, lat), srid=4326, extended=True)
        plain = from_shape(Point(lon, lat), srid=4326)
        from_postgis = WKBElement(bytes(extended.data).hex().upper(), extended=True)
        big_endian = WKBElement(shapely.to_wkb(Point(lon, lat), byte_order=0), srid=4326)
        for element in (point_element(lon, lat), extended, plain, from_postgis, big_endian):
            assert lon_lat(element) == (lon, lat)


def test_ewkb_hex_carries_the_srid_and_the_exact_coordinates() -> None:
    for lon, lat in _points(50):
        for element in (point_element(lon, lat), from_shape(Point(lon, lat), srid=4326)):
            geometry = shapely.from_wkb(ewkb_hex(element))
            assert shapely.get_srid(geometry) == 4326
            assert (geometry.x, geometry.y) == (lon, lat)
    no_srid = from_shape(Point(1.5, 2.5))
    assert shapely.get_srid(shapely.from_wkb(ewkb_hex(no_srid))) == 0
