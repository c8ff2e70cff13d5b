"""The traffic model: plain functions over one seeded `random.Random`.

Genuine calls with a category mix weighted like the traffic Indonesian centers report
(traffic accidents, medical, PLN/PDAM, fire first), a prank/ghost share posted WITHOUT a
category and then closed with `POST /v1/calls/{id}/disposition`, repeat callers (pranksters
above all), witnesses reporting the same incident, valid Indonesian mobile numbers,
positions inside the demo kelurahan polygons (weighted toward Kota Mojokerto), sometimes an
address instead of a position. The same seed gives the same stream.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import phonenumbers
from shapely import contains_xy, prepare
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from dispatch.tools.demo import DEMO_DATA

AREA_FILES = ("desa_kota_mojokerto.geojson", "desa_kab_mojokerto.geojson")
KOTA_CODE = "35.76"  # Kota Mojokerto: dense, most calls

# Genuine traffic (DOMAIN.md: Surabaya's top categories are traffic accidents, medical,
# PLN, PDAM, fire; 38 categories in use). Relative weights; codes of categories.json.
CATEGORY_WEIGHTS: dict[str, float] = {
    "traffic_accident": 22.0,
    "medical": 18.0,
    "ambulance_request": 7.0,
    "utility_outage": 10.0,  # PLN (power) and PDAM (water)
    "electrical_hazard": 4.0,
    "fire": 7.0,
    "fire_with_injury": 1.0,
    "gas_leak": 1.5,
    "crime": 5.0,
    "violence": 3.0,
    "public_disturbance": 3.0,
    "animal": 4.0,  # snakes, bees: Damkar
    "fallen_tree": 3.0,
    "rescue": 2.0,
    "person_in_distress": 2.5,
    "missing_person": 1.0,
    "drowning": 1.0,
    "suicide_attempt": 0.6,
    "body_found": 0.5,
    "natural_disaster": 0.5,
    "building_collapse": 0.3,
}

DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "traffic_accident": ("motor tertabrak truk, korban luka", "tabrakan dua motor di perempatan",
                         "mobil terguling, satu orang terjepit"),
    "medical": ("ibu pingsan di rumah, tidak sadar", "bapak sesak napas berat",
                "anak kejang-kejang demam tinggi"),
    "ambulance_request": ("minta ambulans antar pasien ke RSUD", "pasien stroke butuh rujukan"),
    "utility_outage": ("listrik padam satu RW sejak sore", "air PDAM mati tiga hari"),
    "electrical_hazard": ("kabel listrik putus menjuntai ke jalan", "trafo meledak, percikan api"),
    "fire": ("rumah terbakar, api besar", "gudang terbakar, asap hitam tebal",
             "lahan tebu terbakar dekat permukiman"),
    "animal": ("ular kobra masuk rumah", "sarang tawon di atap sekolah"),
    "fallen_tree": ("pohon tumbang menutup jalan", "pohon tumbang menimpa rumah"),
    "crime": ("pencurian motor, pelaku kabur ke utara", "jambret di depan pasar"),
}
PRANK_NOTES = ("penelepon tertawa lalu menutup telepon", "anak-anak iseng", "laporan palsu")
GHOST_NOTES = ("hening, tidak ada suara", "telepon tertutup sebelum dijawab")

# Indonesian mobile prefixes after +62 (Telkomsel, Indosat, XL, Axis, Tri, Smartfren).
MOBILE_PREFIXES = (
    "811", "812", "813", "821", "822", "823", "851", "852", "853",
    "814", "815", "816", "855", "856", "857", "858",
    "817", "818", "819", "859", "877", "878",
    "831", "832", "833", "838",
    "895", "896", "897", "898", "899",
    "881", "882", "883", "884", "885", "886", "887", "888", "889",
)
CHANNELS = (("voice", 0.9), ("sms", 0.05), ("app", 0.05))


@dataclass(frozen=True, eq=False)
class Kelurahan:
    """One kelurahan or desa of the demo region."""

    code: str
    name: str
    kecamatan: str
    kabkota: str
    jenis: str  # kelurahan | desa
    polygon: BaseGeometry  # a prepared shapely (Multi)Polygon

    @property
    def in_kota(self) -> bool:
        return self.code.startswith(KOTA_CODE + ".")


@lru_cache(maxsize=4)
def load_kelurahan(data_dir: Path = DEMO_DATA) -> tuple[Kelurahan, ...]:
    """Kelurahan/desa polygons of the demo region, in file order (stable for a seed)."""
    found: list[Kelurahan] = []
    for name in AREA_FILES:
        data = json.loads((data_dir / name).read_text(encoding="utf-8"))
        for feature in data["features"]:
            props = feature["properties"]
            polygon = shape(feature["geometry"])
            if polygon.is_empty:
                continue
            prepare(polygon)
            found.append(Kelurahan(props["code"], props["name"], props.get("kecamatan", ""),
                                   props.get("kabkota", ""), props.get("jenis", "desa"),
                                   polygon))
    return tuple(found)


def mobile_number(rng: random.Random, *, local_form_share: float = 0.1) -> str:
    """A valid Indonesian mobile number, E.164 (+628…), sometimes in local form (08…)."""
    for _ in range(20):
        digits = rng.choice(MOBILE_PREFIXES) + "".join(
            str(rng.randrange(10)) for _ in range(rng.choice((7, 8, 8, 8, 9)))
        )
        number = phonenumbers.parse("+62" + digits)
        if phonenumbers.is_valid_number(number):
            return "0" + digits if rng.random() < local_form_share else "+62" + digits
    return "+6281234567890"


def point_in(rng: random.Random, area: Kelurahan, tries: int = 100) -> tuple[float, float]:
    """(lat, lon) uniformly inside the polygon (rejection sampling, 6 decimals); after
    `tries` misses its representative point."""
    min_x, min_y, max_x, max_y = area.polygon.bounds
    for _ in range(tries):
        lon = round(rng.uniform(min_x, max_x), 6)
        lat = round(rng.uniform(min_y, max_y), 6)
        if contains_xy(area.polygon, lon, lat):
            return lat, lon
    point = area.polygon.representative_point()
    return round(point.y, 6), round(point.x, 6)


def pick_area(
    rng: random.Random, kota: Sequence[Kelurahan], kab: Sequence[Kelurahan], kota_share: float
) -> Kelurahan:
    """A kelurahan: one of Kota Mojokerto's with probability `kota_share`, else one of the
    kabupaten's (uniformly within each)."""
    pool = kota if (kota and (not kab or rng.random() < kota_share)) else kab
    return rng.choice(pool)


def address_of(rng: random.Random, area: Kelurahan) -> str:
    """A free-text address of the kind a caller gives: the kelurahan/desa and kecamatan."""
    kind = "Kelurahan" if area.jenis == "kelurahan" else "Desa"
    return rng.choice((f"{kind} {area.name}, Kecamatan {area.kecamatan}",
                       f"{area.name}, {area.kecamatan}",
                       f"dekat balai {kind.lower()} {area.name}"))


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass(frozen=True)
class PlannedCall:
    """One call to post. `disposition` (prank|ghost) means: no category, and close the
    call with that disposition once it is registered."""

    payload: dict[str, Any]
    disposition: str | None = None
    area_code: str | None = None

    @property
    def position(self) -> tuple[float, float] | None:
        location = self.payload.get("location")
        return (location["lat"], location["lon"]) if location else None


def generate_calls(
    seed: int | None = None,
    *,
    prank_share: float = 0.3,
    ghost_share_of_prank: float = 0.45,
    repeat_share: float = 0.1,
    witness_share: float = 0.08,
    prankster_repeat_share: float = 0.5,
    kota_share: float = 0.6,
    address_share: float = 0.15,
    no_location_share: float = 0.04,
    categories: Mapping[str, float] | None = None,
    areas: Sequence[Kelurahan] | None = None,
) -> Iterator[PlannedCall]:
    """An endless, seeded stream of calls (the same seed gives the same stream).

    Shares are probabilities per call: `prank_share` of calls are prank or ghost (no
    category); of the genuine ones `repeat_share` come from a number that called recently,
    `witness_share` report a recent incident again from another phone (same category, a
    few hundred metres off: a possible duplicate), `address_share` give an address
    instead of a position and `no_location_share` give neither."""
    for name, value in (("prank_share", prank_share), ("repeat_share", repeat_share),
                        ("kota_share", kota_share), ("address_share", address_share)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    rng = random.Random(seed)
    weights = dict(categories or CATEGORY_WEIGHTS)
    areas = tuple(areas or load_kelurahan())
    kota = [a for a in areas if a.in_kota]
    kab = [a for a in areas if not a.in_kota]
    recent_callers: deque[str] = deque(maxlen=300)
    recent_incidents: deque[tuple[str, float, float]] = deque(maxlen=50)
    pranksters: list[str] = []
    channels = [c for c, _ in CHANNELS]
    channel_weights = [w for _, w in CHANNELS]
    while True:
        channel = rng.choices(channels, weights=channel_weights)[0]
        if rng.random() < prank_share:
            disposition = "ghost" if rng.random() < ghost_share_of_prank else "prank"
            if pranksters and rng.random() < prankster_repeat_share:
                number = rng.choice(pranksters)
            else:
                number = mobile_number(rng)
                if len(pranksters) < 40:
                    pranksters.append(number)
            payload: dict[str, Any] = {"caller_number": number, "channel": channel}
            area = None
            if disposition == "prank" and rng.random() < 0.5:  # a made-up emergency
                area = pick_area(rng, kota, kab, kota_share)
                lat, lon = point_in(rng, area)
                payload["location"] = {"lat": lat, "lon": lon, "accuracy_m": 100.0}
            yield PlannedCall(payload, disposition, area.code if area else None)
            continue

        witness = recent_incidents and rng.random() < witness_share
        if recent_callers and rng.random() < repeat_share:
            number = rng.choice(recent_callers)
        else:
            number = mobile_number(rng)
            recent_callers.append(number)
        payload = {"caller_number": number, "channel": channel}
        area = pick_area(rng, kota, kab, kota_share)
        if witness:
            category, base_lat, base_lon = rng.choice(recent_incidents)
            lat, lon = base_lat, base_lon
            for _ in range(10):  # a few hundred metres off, still inside the region
                lat = round(base_lat + rng.uniform(-0.002, 0.002), 6)
                lon = round(base_lon + rng.uniform(-0.002, 0.002), 6)
                if any(contains_xy(a.polygon, lon, lat) for a in areas):
                    break
            else:
                lat, lon = base_lat, base_lon
        else:
            category = _weighted(rng, weights)
            lat, lon = point_in(rng, area)
        payload["category"] = category
        draw = rng.random()
        if draw < no_location_share:
            pass  # the caller cannot say where: routed to the fallback agencies
        elif draw < no_location_share + address_share:
            payload["address"] = address_of(rng, area)
        else:
            payload["location"] = {"lat": lat, "lon": lon,
                                   "accuracy_m": float(rng.choice((10, 30, 50, 100, 250)))}
            if rng.random() < 0.1:
                payload["address"] = address_of(rng, area)
            recent_incidents.append((category, lat, lon))
        if category in DESCRIPTIONS and rng.random() < 0.6:
            payload["description"] = rng.choice(DESCRIPTIONS[category])
        yield PlannedCall(payload, None, area.code)


def draw_calls(count: int, seed: int | None = None, **options: Any) -> list[PlannedCall]:
    """The first `count` calls of `generate_calls(seed, **options)`."""
    stream = generate_calls(seed, **options)
    return [next(stream) for _ in range(count)]


def disposition_body(rng: random.Random, disposition: str) -> dict[str, str]:
    """The body of `POST /v1/calls/{id}/disposition` closing a prank or ghost call."""
    notes = GHOST_NOTES if disposition == "ghost" else PRANK_NOTES
    return {"disposition": disposition, "note": rng.choice(notes)}
