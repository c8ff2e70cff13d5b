"""Realistic 112 call traffic: `dispatch simulate --base-url URL --rate R --duration S`.

Two halves:

* the traffic model, plain functions over one seeded `random.Random`: genuine calls with a
  category mix weighted like the traffic Indonesian centers report (traffic accidents,
  medical, PLN/PDAM, fire first), a prank/ghost share posted WITHOUT a category and then
  closed with `POST /v1/calls/{id}/disposition`, repeat callers (pranksters above all),
  witnesses reporting the same incident, valid Indonesian mobile numbers, positions inside
  the demo kelurahan polygons (weighted toward Kota Mojokerto), sometimes an address
  instead of a position;
* an async driver: open loop (each call has a scheduled send time, whether or not earlier
  calls were answered), a bounded number of requests in flight, per-request latency, a rich
  progress bar, and a summary table. A small keep-alive HTTP/1.1 client keeps the driver's
  own CPU cost low, so it can drive the service on the same machine.

Register it in the CLI with `app.command("simulate")(simulate)` (or
`app.add_typer(simulate_app, name="simulate")`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import ssl
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import orjson
import phonenumbers
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from shapely import contains_xy, prepare
from shapely.geometry import shape

DEMO_DATA = Path(__file__).with_name("demo_data")
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


# --- the traffic model ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Kelurahan:
    code: str
    name: str
    kecamatan: str
    kabkota: str
    jenis: str  # kelurahan | desa
    polygon: Any  # a prepared shapely (Multi)Polygon

    @property
    def in_kota(self) -> bool:
        return self.code.startswith(KOTA_CODE + ".")


@lru_cache(maxsize=4)
def load_kelurahan(data_dir: Path = DEMO_DATA) -> tuple[Kelurahan, ...]:
    """Kelurahan/desa polygons of the demo region, in file order (stable for a seed)."""
    found = []
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
    notes = GHOST_NOTES if disposition == "ghost" else PRANK_NOTES
    return {"disposition": disposition, "note": rng.choice(notes)}


# --- a small keep-alive HTTP/1.1 client -------------------------------------------------------


class TransportError(Exception):
    """No HTTP response: refused, reset, timed out, malformed."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used_at = time.monotonic()
        self.uses = 0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    async def roundtrip(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Send one request; (status, body, keep_alive)."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length: int | None = None
        chunked, keep = False, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = value.strip().lower() != b"close"
        if status < 200 or status in (204, 304):
            body = b""
        elif chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            keep = False
        self.used_at = time.monotonic()
        self.uses += 1
        return status, body, keep


class HttpClient:
    """Keep-alive HTTP/1.1 over at most `max_connections` connections (one request per
    connection at a time). Enough for this API: JSON or form bodies, JSON answers."""

    IDLE_REUSE_S = 4.0  # uvicorn drops idle keep-alive connections after 5 s

    def __init__(self, base_url: str, *, max_connections: int = 64, timeout_s: float = 30.0):
        parts = urlsplit(base_url if "://" in base_url else "http://" + base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.prefix = parts.path.rstrip("/")
        self.authority = parts.netloc.encode()
        self.timeout_s = timeout_s
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.ssl,
                                                       limit=1 << 20)
        return _Connection(reader, writer)

    def _raw(self, method: str, path: str, body: bytes, content_type: str | None,
             headers: Mapping[str, str] | None) -> bytes:
        lines = [f"{method} {self.prefix}{path} HTTP/1.1".encode(),
                 b"Host: " + self.authority, b"Accept: application/json",
                 b"Content-Length: " + str(len(body)).encode()]
        if content_type:
            lines.append(b"Content-Type: " + content_type.encode())
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}".encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    async def request(
        self, method: str, path: str, *, json_body: Any = None,
        form: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        if form is not None:
            body, content_type = urlencode(form).encode(), "application/x-www-form-urlencoded"
        elif json_body is not None:
            body, content_type = orjson.dumps(json_body), "application/json"
        else:
            body, content_type = b"", None
        raw = self._raw(method, path, body, content_type, headers)
        async with self._slots:
            for attempt in range(2):
                conn = None
                while self._idle:
                    candidate = self._idle.pop()
                    if time.monotonic() - candidate.used_at < self.IDLE_REUSE_S:
                        conn = candidate
                        break
                    candidate.close()
                reused = conn is not None
                try:
                    async with asyncio.timeout(self.timeout_s):
                        if conn is None:
                            conn = await self._connect()
                        status, payload, keep = await conn.roundtrip(raw)
                except asyncio.IncompleteReadError as exc:
                    if conn is not None:
                        conn.close()
                    # A reused connection the server had just closed: nothing was answered,
                    # nothing was processed; one retry on a fresh connection.
                    if reused and not exc.partial and attempt == 0:
                        continue
                    raise TransportError("connection closed mid-response") from None
                except (OSError, TimeoutError, ValueError, IndexError,
                        asyncio.LimitOverrunError) as exc:
                    if conn is not None:
                        conn.close()
                    if reused and isinstance(exc, ConnectionResetError) and attempt == 0:
                        continue
                    raise TransportError(type(exc).__name__) from None
                if keep:
                    self._idle.append(conn)
                else:
                    conn.close()
                return status, payload
        raise TransportError("connection closed twice")

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


async def login(client: HttpClient, username: str, password: str) -> str:
    status, body = await client.request("POST", "/auth/token",
                                        form={"username": username, "password": password})
    if status != 200:
        raise TransportError(f"log-in as {username!r} failed with HTTP {status}: "
                             f"{body[:200].decode(errors='replace')}")
    return orjson.loads(body)["access_token"]


async def login_many(client: HttpClient, username: str, password: str, count: int) -> list[str]:
    """`count` distinct tokens of one account, one per simulated console (tokens issued in
    the same second are identical, so this takes about `count` seconds)."""
    tokens: list[str] = []
    for _ in range(3 * count):
        token = await login(client, username, password)
        if token not in tokens:
            tokens.append(token)
        if len(tokens) >= count:
            break
        await asyncio.sleep(1.05)
    return tokens


# --- the driver -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(slots=True)
class Outcome:
    """One request's result. Times are time.time_ns() (comparable across processes on
    one machine); `scheduled_ns` is when the open-loop schedule wanted it sent."""

    kind: str  # call | disposition
    status: int  # 0: transport error
    scheduled_ns: int
    sent_ns: int
    done_ns: int
    body: Any = None  # parsed JSON of a 2xx answer
    error: str | None = None


@dataclass
class DriveStats:
    scheduled: int = 0
    sent: int = 0
    done: int = 0
    in_flight: int = 0
    unsent: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)  # send → answer, 2xx
    schedule_ms: list[float] = field(default_factory=list)  # scheduled → answer, calls 2xx
    recent_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    started: float = field(default_factory=time.monotonic)
    sending_ended: float | None = None
    ended: float | None = None

    def record(self, outcome: Outcome) -> None:
        self.done += 1
        self.statuses[(outcome.kind, outcome.status)] += 1
        if outcome.status == 0:
            self.transport_errors[outcome.error or "?"] += 1
        elif 200 <= outcome.status < 300:
            ms = (outcome.done_ns - outcome.sent_ns) / 1e6
            self.latency_ms.setdefault(outcome.kind, []).append(ms)
            if outcome.kind == "call":
                self.recent_ms.append(ms)
                self.schedule_ms.append((outcome.done_ns - outcome.scheduled_ns) / 1e6)

    def count(self, kind: str, ok: bool | None = None) -> int:
        return sum(n for (k, s), n in self.statuses.items() if k == kind and (
            ok is None or (200 <= s < 300) == ok))

    @property
    def failed(self) -> int:
        """5xx answers and transport errors."""
        return sum(n for (_, s), n in self.statuses.items() if s == 0 or s >= 500)

    def summary(self) -> dict[str, Any]:
        elapsed = (self.ended or time.monotonic()) - self.started
        calls_ms = self.latency_ms.get("call", [])

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        return {
            "scheduled": self.scheduled, "sent": self.sent, "unsent": self.unsent,
            "calls_ok": self.count("call", ok=True),
            "dispositions_ok": self.count("disposition", ok=True),
            "by_status": {f"{k} {s}": n for (k, s), n in sorted(self.statuses.items())},
            "transport_errors": dict(self.transport_errors),
            "failed_5xx_or_transport": self.failed,
            "elapsed_s": round(elapsed, 3),
            "calls_ok_per_s": round(self.count("call", ok=True) / elapsed, 2) if elapsed else None,
            "call_p50_ms": rounded(percentile(calls_ms, 50)),
            "call_p99_ms": rounded(percentile(calls_ms, 99)),
            "call_max_ms": rounded(max(calls_ms) if calls_ms else None),
            "call_from_schedule_p50_ms": rounded(percentile(self.schedule_ms, 50)),
            "call_from_schedule_p99_ms": rounded(percentile(self.schedule_ms, 99)),
            "disposition_p50_ms": rounded(percentile(self.latency_ms.get("disposition", []), 50)),
            "disposition_p99_ms": rounded(percentile(self.latency_ms.get("disposition", []), 99)),
        }


OutcomeHook = Callable[[PlannedCall, Outcome], None]


class Driver:
    """Posts planned calls (and the dispositions of pranks) with a token per console."""

    def __init__(
        self, client: HttpClient, tokens: Sequence[str], *, seed: int | None = None,
        on_outcome: OutcomeHook | None = None, path: str = "/v1/calls",
        close_pranks: bool = True,
    ) -> None:
        if not tokens:
            raise ValueError("at least one token is needed")
        self.client = client
        self.headers = [{"Authorization": f"Bearer {t}"} for t in tokens]
        self.rng = random.Random(seed)
        self.on_outcome = on_outcome
        self.path = path
        self.close_pranks = close_pranks
        self.stats = DriveStats()
        self._turn = 0

    def _headers(self) -> Mapping[str, str]:
        self._turn += 1
        return self.headers[self._turn % len(self.headers)]

    async def _post(self, kind: str, path: str, body: Any, scheduled_ns: int,
                    headers: Mapping[str, str]) -> Outcome:
        sent = time.time_ns()
        try:
            status, raw = await self.client.request("POST", path, json_body=body,
                                                    headers=headers)
        except TransportError as exc:
            outcome = Outcome(kind, 0, scheduled_ns, sent, time.time_ns(), error=str(exc))
        else:
            done = time.time_ns()
            parsed = None
            if 200 <= status < 300:
                try:
                    parsed = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    parsed = None
            outcome = Outcome(kind, status, scheduled_ns, sent, done, parsed)
        self.stats.record(outcome)
        return outcome

    async def one(self, plan: PlannedCall, scheduled_ns: int) -> None:
        self.stats.sent += 1
        self.stats.in_flight += 1
        try:
            headers = self._headers()
            outcome = await self._post("call", self.path, plan.payload, scheduled_ns, headers)
            if self.on_outcome is not None:
                self.on_outcome(plan, outcome)
            if (self.close_pranks and plan.disposition and outcome.status == 201
                    and isinstance(outcome.body, dict) and "id" in outcome.body):
                body = disposition_body(self.rng, plan.disposition)
                closed = await self._post("disposition",
                                          f"{self.path}/{outcome.body['id']}/disposition",
                                          body, time.time_ns(), headers)
                if self.on_outcome is not None:
                    self.on_outcome(plan, closed)
        finally:
            self.stats.in_flight -= 1

    async def open_loop(
        self, plans: Iterator[PlannedCall], *, rate: float, duration_s: float,
        max_in_flight: int = 64, give_up_after_s: float | None = None,
    ) -> DriveStats:
        """Send `rate × duration_s` calls at scheduled times (open loop). When
        `max_in_flight` requests are out, the next send waits (and is late: that shows in
        the from-schedule latency). Sending stops `give_up_after_s` after the start (the
        rest counts as unsent); then waits for the requests out."""
        if rate <= 0 or duration_s <= 0:
            raise ValueError("rate and duration must be positive")
        total = max(1, round(rate * duration_s))
        stats = self.stats
        stats.scheduled += total
        stats.started = time.monotonic()
        slots = asyncio.Semaphore(max_in_flight)
        tasks: set[asyncio.Task[None]] = set()
        start_perf = time.perf_counter() + 0.01
        start_ns = time.time_ns() + 10_000_000
        deadline = None if give_up_after_s is None else start_perf + give_up_after_s

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            slots.release()

        for i in range(total):
            offset = i / rate
            delay = start_perf + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            if deadline is not None and time.perf_counter() > deadline:
                slots.release()
                stats.unsent += total - i
                break
            task = asyncio.create_task(self.one(next(plans), start_ns + int(offset * 1e9)))
            tasks.add(task)
            task.add_done_callback(finished)
        stats.sending_ended = time.monotonic()
        if tasks:
            await asyncio.wait(set(tasks), timeout=self.client.timeout_s * 2 + 5)
        stats.ended = time.monotonic()
        return stats

    async def closed_loop(
        self, plans: Iterator[PlannedCall], *, concurrency: int, duration_s: float,
    ) -> DriveStats:
        """`concurrency` workers each posting the next call as soon as the previous one was
        answered, for `duration_s`: the throughput at saturation."""
        stats = self.stats
        stats.started = time.monotonic()
        stop = time.perf_counter() + duration_s

        async def worker() -> None:
            while time.perf_counter() < stop:
                stats.scheduled += 1
                await self.one(next(plans), time.time_ns())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        stats.sending_ended = stats.ended = time.monotonic()
        return stats


# --- the command ------------------------------------------------------------------------------


def summary_table(stats: DriveStats, title: str = "simulation") -> Table:
    s = stats.summary()
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows: list[tuple[str, Any]] = [
        ("calls sent", s["sent"]), ("calls 201", s["calls_ok"]),
        ("dispositions 200", s["dispositions_ok"]), ("unsent (gave up)", s["unsent"]),
    ]
    rows += [(f"HTTP {k}", n) for k, n in s["by_status"].items() if not k.endswith(("201", "200"))]
    rows += [(f"transport error: {k}", n) for k, n in s["transport_errors"].items()]
    rows += [("calls 201 per s", s["calls_ok_per_s"]),
             ("call p50 / p99 ms", f"{s['call_p50_ms']} / {s['call_p99_ms']}"),
             ("call from schedule p50 / p99 ms",
              f"{s['call_from_schedule_p50_ms']} / {s['call_from_schedule_p99_ms']}"),
             ("disposition p50 / p99 ms",
              f"{s['disposition_p50_ms']} / {s['disposition_p99_ms']}")]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


async def run_simulation(
    base_url: str, *, rate: float, duration: float, username: str, password: str,
    prank_share: float, seed: int, max_in_flight: int, consoles: int, timeout_s: float,
    console: Console, show_progress: bool = True,
) -> DriveStats:
    client = HttpClient(base_url, max_connections=max_in_flight + 4, timeout_s=timeout_s)
    try:
        tokens = await login_many(client, username, password, consoles)
        driver = Driver(client, tokens, seed=seed)
        plans = generate_calls(seed, prank_share=prank_share)
        total = max(1, round(rate * duration))
        if not show_progress:
            return await driver.open_loop(plans, rate=rate, duration_s=duration,
                                          max_in_flight=max_in_flight)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TextColumn("{task.fields[line]}"),
                      TimeElapsedColumn(), console=console, refresh_per_second=4) as bar:
            task = bar.add_task(f"{rate:g} calls/s", total=total, line="")
            run = asyncio.create_task(driver.open_loop(
                plans, rate=rate, duration_s=duration, max_in_flight=max_in_flight))
            while not run.done():
                await asyncio.wait({run}, timeout=0.25)
                st = driver.stats
                p50 = percentile(st.recent_ms, 50)
                p99 = percentile(st.recent_ms, 99)
                bad = st.done - st.count("call", ok=True) - st.count("disposition", ok=True)
                bar.update(task, completed=min(st.sent, total), line=(
                    f"in flight {st.in_flight:>3}  201 {st.count('call', ok=True)}  "
                    f"not ok {bad}  p50 {p50 or 0:.0f} ms  p99 {p99 or 0:.0f} ms"))
            return run.result()
    finally:
        await client.close()


def simulate(
    base_url: Annotated[str, typer.Option(help="the service, e.g. http://127.0.0.1:8112")] =
        "http://127.0.0.1:8112",
    rate: Annotated[float, typer.Option(min=0.01, max=10000, help="calls per second")] = 5.0,
    duration: Annotated[float, typer.Option(min=0.1, max=86400, help="seconds")] = 60.0,
    username: Annotated[str, typer.Option(help="operator account")] = "operator",
    password: Annotated[str, typer.Option(help="its password")] = "operator-demo-112",
    prank_share: Annotated[float, typer.Option(min=0, max=1,
                                               help="prank and ghost calls")] = 0.3,
    seed: Annotated[int | None, typer.Option(help="random seed (printed when omitted)")] = None,
    max_in_flight: Annotated[int, typer.Option(min=1, max=4096)] = 64,
    consoles: Annotated[int, typer.Option(
        min=0, max=32, help="operator consoles, one token each (0: one per 40 calls/s)")] = 0,
    timeout: Annotated[float, typer.Option(min=0.1, max=600, help="per request, s")] = 30.0,
    progress: Annotated[bool, typer.Option(help="live progress bar")] = True,
) -> None:
    """Post realistic 112 call traffic (category mix, pranks, repeat callers, positions
    over Mojokerto) at an open-loop RATE for DURATION seconds, then print a summary.
    Exits 1 when any request failed with a 5xx or a transport error."""
    console = Console(stderr=True)
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 31)
    consoles = consoles or min(32, max(1, math.ceil(rate / 40)))
    console.print(f"simulating {rate:g} calls/s for {duration:g} s against {base_url} "
                  f"(seed {seed}, prank share {prank_share:g}, {consoles} console(s))")
    try:
        stats = asyncio.run(run_simulation(
            base_url, rate=rate, duration=duration, username=username, password=password,
            prank_share=prank_share, seed=seed, max_in_flight=max_in_flight,
            consoles=consoles, timeout_s=timeout, console=console, show_progress=progress))
    except (TransportError, ValueError) as exc:
        console.print(f"[bold red]Error:[/] {base_url}: {exc}")
        raise typer.Exit(2) from None
    Console().print(summary_table(stats, title=f"dispatch simulate (seed {seed})"))
    if stats.failed:
        raise typer.Exit(1)


simulate_app = typer.Typer(help="Realistic call traffic against a running service.")
simulate_app.callback(invoke_without_command=True)(simulate)


if __name__ == "__main__":
    simulate_app()
