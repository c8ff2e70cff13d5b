"""Property tests (Hypothesis) for the two input parsers every request relies on.

- agencies.registry.parse_coverage (GeoJSON coverage of an agency, from an admin's PUT):
  whatever dict it is given, it raises nothing but dispatch.errors.Invalid (a 422), and
  what it returns is a valid, non-empty, 2-D MultiPolygon inside lon/lat range that
  survives a GeoJSON round trip. Valid polygons are accepted unchanged.
- dispatch.calls.input.normalise_number (the caller number of every call): a valid Indonesian
  number written in any usual local or international form gives one E.164; junk raises
  Invalid (naming caller_number) and nothing else; the output is a fixed point."""

from __future__ import annotations

import math
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import MultiPolygon, Polygon
from shapely.geometry import mapping, shape

from agencies.registry import parse_coverage
from dispatch.calls.input import normalise_number
from dispatch.core.errors import Invalid

PROPERTY_SETTINGS = settings(
    max_examples=400, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)


# --- GeoJSON coverage --------------------------------------------------------------------

def assert_valid_coverage(result: Any) -> None:
    assert isinstance(result, MultiPolygon), type(result)
    assert not result.is_empty
    assert result.is_valid
    assert not result.has_z
    minx, miny, maxx, maxy = result.bounds
    assert all(math.isfinite(v) for v in (minx, miny, maxx, maxy))
    assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    for polygon in result.geoms:
        assert not polygon.is_empty, f"an empty polygon inside the coverage: {result.wkt}"
        assert len(polygon.exterior.coords) >= 4
        for ring in polygon.interiors:
            assert len(ring.coords) >= 4, f"an empty or degenerate hole: {result.wkt}"
    again = shape(mapping(result))
    assert again.equals(result)


def check_parse(geojson: Any) -> MultiPolygon | None:
    """parse_coverage's contract: Invalid, or a valid coverage."""
    try:
        result = parse_coverage(geojson)
    except Invalid:
        return None
    except Exception as exc:  # anything else would be a 500 on PUT /v1/agencies
        pytest.fail(f"parse_coverage raised {type(exc).__name__}: {exc!r:.200}")
    if geojson is None:
        assert result is None
    else:
        assert_valid_coverage(result)
    return result


HUGE = st.sampled_from([10**400, -(10**400), 2**1024, 10**309])
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-200, max_value=200),
    st.integers(min_value=-200, max_value=200),
    st.integers(),
    HUGE,
)
junk_scalar = st.one_of(st.none(), st.booleans(), st.text(max_size=5), numbers)
position = st.one_of(
    st.lists(numbers, min_size=2, max_size=2),
    st.lists(numbers, min_size=0, max_size=4),
    st.lists(junk_scalar, min_size=0, max_size=3),
)
ring = st.one_of(
    st.lists(position, min_size=0, max_size=7),
    st.lists(position, min_size=3, max_size=6).map(lambda r: [*r, r[0]]),  # closed
)
polygon_coords = st.lists(ring, min_size=0, max_size=3)
multipolygon_coords = st.lists(polygon_coords, min_size=0, max_size=3)
json_junk = st.recursive(
    junk_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=20,
)
geojson_like = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["Polygon", "MultiPolygon"]),
                       st.sampled_from(["Point", "LineString", "GeometryCollection",
                                        "polygon", "Feature", ""]),
                       json_junk)},
    optional={
        "coordinates": st.one_of(polygon_coords, multipolygon_coords, json_junk),
        "bbox": json_junk, "crs": json_junk,
        "geometries": st.lists(json_junk, max_size=2),
    },
)


@PROPERTY_SETTINGS
@given(geojson=st.one_of(st.none(), geojson_like,
                         st.dictionaries(st.text(max_size=12), json_junk, max_size=4)))
def test_parse_coverage_raises_only_invalid(geojson: Any) -> None:
    check_parse(geojson)


def _convex(center_lon: float, center_lat: float, radius: float,
            angles: list[float]) -> list[list[float]]:
    points = [[center_lon + radius * math.cos(a), center_lat + radius * math.sin(a)]
              for a in sorted(set(angles))]
    return [*points, points[0]]


convex_polygon = st.builds(
    _convex,
    st.floats(min_value=95, max_value=141),  # Indonesia's longitudes
    st.floats(min_value=-11, max_value=6),
    st.floats(min_value=0.001, max_value=1.0),
    st.lists(st.floats(min_value=0, max_value=2 * math.pi - 0.01), min_size=3, max_size=30,
             unique=True).filter(
        lambda a: len({round(x, 3) for x in a}) >= 3 and max(a) - min(a) > 0.5),
)


@PROPERTY_SETTINGS
@given(rings=st.lists(convex_polygon, min_size=1, max_size=4), as_multi=st.booleans(),
       with_hole=st.booleans())
def test_parse_coverage_accepts_valid_polygons(rings: list, as_multi: bool,
                                               with_hole: bool) -> None:
    polygons = []
    for shell in rings:
        candidate = Polygon(shell)
        if not candidate.is_valid or candidate.area < 1e-9:
            continue
        if any(candidate.intersects(p) for p in polygons):
            continue  # parts of a MultiPolygon must not overlap
        if with_hole:
            hole = candidate.buffer(-candidate.minimum_rotated_rectangle.length / 50)
            if isinstance(hole, Polygon) and not hole.is_empty and hole.area > 1e-12:
                candidate = Polygon(shell, [list(hole.exterior.coords)])
        polygons.append(candidate)
    if not polygons:
        return
    expected = MultiPolygon(polygons)
    geojson = mapping(expected) if as_multi or len(polygons) > 1 else mapping(polygons[0])
    geojson = {"type": geojson["type"],
               "coordinates": _as_lists(geojson["coordinates"])}
    result = check_parse(geojson)
    assert result is not None, f"a valid polygon was refused: {geojson}"
    assert result.symmetric_difference(expected).area <= 1e-9 * max(expected.area, 1e-12)


def _as_lists(value: Any) -> Any:
    """mapping() gives tuples; JSON gives lists."""
    if isinstance(value, list | tuple):
        return [_as_lists(v) for v in value]
    return value


def _deep(depth: int) -> list:
    value: list = [0, 0]
    for _ in range(depth):
        value = [value]
    return value


SQUARE = [[112.4, -7.5], [112.5, -7.5], [112.5, -7.4], [112.4, -7.4], [112.4, -7.5]]

# Inputs met in practice or found by the properties above, kept as fixed cases.
EDGE_CASES = {
    "huge integer longitude": {"type": "Polygon", "coordinates": [[[10**400, 0], *SQUARE]]},
    "huge integer in a MultiPolygon": {"type": "MultiPolygon",
                                       "coordinates": [[[[0, 0], [2**1024, 0], [1, 1],
                                                         [0, 0]]]]},
    "nesting 900 deep": {"type": "Polygon", "coordinates": _deep(900)},
    "nesting 5000 deep": {"type": "Polygon", "coordinates": _deep(5000)},
    "empty hole": {"type": "Polygon", "coordinates": [SQUARE, []]},
    "empty part of a MultiPolygon": {"type": "MultiPolygon", "coordinates": [[SQUARE], []]},
    "NaN": {"type": "Polygon", "coordinates": [[[112.4, math.nan], *SQUARE[1:]]]},
    "infinity": {"type": "Polygon", "coordinates": [[[math.inf, -7.5], *SQUARE[1:]]]},
    "3-D positions": {"type": "Polygon", "coordinates": [[[*p, 10.0] for p in SQUARE]]},
    "mixed 2-D and 3-D": {"type": "Polygon",
                          "coordinates": [[[*SQUARE[0], 1.0], *SQUARE[1:]]]},
    "unclosed ring": {"type": "Polygon", "coordinates": [SQUARE[:-1]]},
    "bow tie (self-intersecting)": {"type": "Polygon", "coordinates": [[
        [112.4, -7.5], [112.5, -7.4], [112.5, -7.5], [112.4, -7.4], [112.4, -7.5]]]},
    "two points": {"type": "Polygon", "coordinates": [SQUARE[:2]]},
    "strings": {"type": "Polygon", "coordinates": [[[str(x) for x in p] for p in SQUARE]]},
    "null position": {"type": "Polygon", "coordinates": [[None, *SQUARE]]},
    "object as coordinates": {"type": "Polygon", "coordinates": {"a": 1}},
    "no coordinates": {"type": "Polygon"},
    "latitude out of range": {"type": "Polygon", "coordinates": [[
        [112.4, -95], [112.5, -95], [112.5, -7.4], [112.4, -95]]]},
    "Point": {"type": "Point", "coordinates": [112.4, -7.5]},
    "type not a string": {"type": ["Polygon"], "coordinates": [SQUARE]},
}


@pytest.mark.parametrize("geojson", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_parse_coverage_edge_cases(geojson: dict) -> None:
    check_parse(geojson)


# --- phone numbers -----------------------------------------------------------------------

MOBILE_PREFIXES = ["811", "812", "813", "821", "822", "823", "851", "852", "853", "814",
                   "815", "816", "855", "856", "857", "858", "817", "818", "819", "859",
                   "877", "878", "831", "832", "833", "838", "895", "896", "897", "898",
                   "899", "881", "882", "883", "884", "885", "886", "887", "888", "889"]
digits = st.text(alphabet=string.digits, min_size=1, max_size=1)


@st.composite
def indonesian_number(draw: st.DrawFn) -> tuple[str, str]:
    """(area or mobile prefix, subscriber digits) of a valid Indonesian number."""
    kind = draw(st.sampled_from(["mobile", "jakarta", "mojokerto"]))
    if kind == "mobile":
        prefix = draw(st.sampled_from(MOBILE_PREFIXES))
        length = draw(st.integers(min_value=6, max_value=9))
    elif kind == "jakarta":
        prefix, length = "21", draw(st.integers(min_value=7, max_value=8))
    else:
        prefix, length = "321", draw(st.integers(min_value=6, max_value=7))
    first = draw(st.sampled_from("123456789"))
    rest = draw(st.text(alphabet=string.digits, min_size=length - 1, max_size=length - 1))
    return prefix, first + rest


def _grouped(text: str, separator: str, size: int) -> str:
    return separator.join(text[i:i + size] for i in range(0, len(text), size))


@PROPERTY_SETTINGS
@given(number=indonesian_number(), separator=st.sampled_from(["", " ", "-", "."]),
       group=st.integers(min_value=3, max_value=4))
def test_local_and_international_forms_give_one_e164(number: tuple[str, str], separator: str,
                                                     group: int) -> None:
    prefix, subscriber = number
    e164 = f"+62{prefix}{subscriber}"
    body = _grouped(subscriber, separator, group)
    forms = [
        f"0{prefix}{subscriber}",
        f"0{prefix}{separator}{body}",
        f"(0{prefix}) {body}",
        f"+62{prefix}{subscriber}",
        f"+62 {prefix}{separator}{body}",
        f"+62-{prefix}-{body}",
        f"+62 (0){prefix} {body}",
        f" 0{prefix}{subscriber} ",
    ]
    results = {form: normalise_number(form, "ID") for form in forms}
    assert set(results.values()) == {e164}, results
    assert normalise_number(e164, "ID") == e164


phone_junk = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789+-() .#*/xX", max_size=32),
    st.builds(lambda a, b: a + b, st.sampled_from(["0", "+62", "62", "+", "00", "+1"]),
              st.text(alphabet=string.digits, max_size=20)),
)


@PROPERTY_SETTINGS
@given(raw=phone_junk)
def test_phone_junk_raises_only_invalid(raw: str) -> None:
    try:
        result = normalise_number(raw, "ID")
    except Invalid as exc:
        assert exc.extra.get("field") == "caller_number"
        return
    except Exception as exc:  # anything else would be a 500 on POST /v1/calls
        pytest.fail(f"normalise_number({raw!r}) raised {type(exc).__name__}: {exc}")
    assert result.startswith("+") and result[1:].isdigit() and 8 <= len(result) <= 16
    assert normalise_number(result, "ID") == result
