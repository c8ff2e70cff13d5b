"""The traffic model of `dispatch simulate` (no network, no database)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest
from shapely import contains_xy
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from dispatch.tools.simulate.report import percentile
from dispatch.tools.simulate.traffic import (
    CATEGORY_WEIGHTS,
    DEMO_DATA,
    PlannedCall,
    draw_calls,
    generate_calls,
    load_kelurahan,
)

DRAWS = 2000


@pytest.fixture(scope="module")
def calls() -> list[PlannedCall]:
    return draw_calls(DRAWS, seed=20261123)


@pytest.fixture(scope="module")
def region() -> BaseGeometry:
    polygons: list[BaseGeometry] = []
    for name in ("desa_kota_mojokerto.geojson", "desa_kab_mojokerto.geojson"):
        data = json.loads((DEMO_DATA / name).read_text(encoding="utf-8"))
        polygons += [shape(f["geometry"]) for f in data["features"]]
    return unary_union(polygons).buffer(1e-6)  # the 6-decimal rounding of positions


def test_same_seed_same_calls_other_seed_other_calls() -> None:
    first = draw_calls(300, seed=7)
    assert first == draw_calls(300, seed=7)
    assert first != draw_calls(300, seed=8)


def test_positions_fall_inside_the_demo_region(
    calls: list[PlannedCall], region: BaseGeometry
) -> None:
    positions = [c.position for c in calls if c.position is not None]
    assert len(positions) > DRAWS // 2
    inside = contains_xy(region, [lon for _, lon in positions], [lat for lat, _ in positions])
    assert inside.all()


def test_positions_lean_toward_kota_mojokerto(calls: list[PlannedCall]) -> None:
    codes = [c.area_code for c in calls if c.disposition is None and c.area_code]
    kota = sum(code.startswith("35.76.") for code in codes)
    # 18 of 322 kelurahan, but most of the calls (kota_share 0.6)
    assert 0.5 < kota / len(codes) < 0.7


def test_caller_numbers_are_valid_indonesian_mobiles(calls: list[PlannedCall]) -> None:
    for call in calls:
        number = phonenumbers.parse(call.payload["caller_number"], "ID")
        assert phonenumbers.is_valid_number(number), call.payload["caller_number"]
        assert number.country_code == 62
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        assert str(number.national_number).startswith("8")


def test_prank_share_is_respected(calls: list[PlannedCall]) -> None:
    pranks = [c for c in calls if c.disposition is not None]
    assert abs(len(pranks) / DRAWS - 0.3) < 0.04
    assert {c.disposition for c in pranks} == {"prank", "ghost"}
    assert all("category" not in c.payload for c in pranks)
    assert all("category" in c.payload for c in calls if c.disposition is None)
    fewer = draw_calls(DRAWS, seed=1, prank_share=0.1)
    assert abs(sum(c.disposition is not None for c in fewer) / DRAWS - 0.1) < 0.03
    assert not any(c.disposition for c in draw_calls(200, seed=1, prank_share=0.0))


def test_categories_exist_and_the_mix_leads_with_accidents_and_medical(
    calls: list[PlannedCall],
) -> None:
    data = json.loads((Path(DEMO_DATA) / "categories.json").read_text(encoding="utf-8"))
    known = {c["code"] for c in data["categories"]}
    assert set(CATEGORY_WEIGHTS) <= known
    used = Counter(c.payload["category"] for c in calls if "category" in c.payload)
    assert set(used) <= known
    assert [code for code, _ in used.most_common(2)] == ["traffic_accident", "medical"]


def test_repeat_callers_and_addresses_occur(calls: list[PlannedCall]) -> None:
    numbers = Counter(c.payload["caller_number"] for c in calls)
    assert sum(n for n in numbers.values() if n > 1) > DRAWS * 0.05
    assert any("address" in c.payload and "location" not in c.payload for c in calls)
    assert all(c.payload.get("channel") in ("voice", "sms", "app") for c in calls)


def test_generator_rejects_impossible_shares() -> None:
    with pytest.raises(ValueError, match="prank_share"):
        next(generate_calls(1, prank_share=1.5))


def test_demo_kelurahan_and_percentile() -> None:
    assert len(load_kelurahan()) > 300
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(101)), 99) == 99
