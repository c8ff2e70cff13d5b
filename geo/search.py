"""Place search by name: administrative areas and the gazetteer, fuzzy, with PostgreSQL pg_trgm.

The query is normalised first (`parse_query`): cut to 200 characters, lower-cased, RT/RW and
house numbers dropped, split into parts at commas/semicolons/new lines and before an
Indonesian prefix word ("Kel.", "Desa", "Kec.", "Kab.", "Kota", "Jl.", "Gg." ...). A part
remembers its prefix as a *hint* ("kelurahan", "kecamatan", "kabupaten", "kota",
"provinsi", "street") and is matched under several spellings: without the prefix, with the
prefix as typed and with the prefix spelled out ("kab mojokerto", "kabupaten mojokerto").

Every spelling is matched in one statement (the SQL function `search_place_candidates`,
migrations 0008 and 0010) against `areas.name` and `gazetteer.name` with the trigram operators `%`
(similarity) and `<<%` (strict word similarity), which the GIN `gin_trgm_ops` indexes
answer. The score of a candidate for a part is

    match = max(similarity, 0.9 * strict_word_similarity)   (a name that merely contains
            the words, like "Kota Mojokerto" for "mojokerto", never reaches 1)
          * 0.9 when the part's hint contradicts the candidate ("Desa Sooko" and the
            kecamatan Sooko, "Kota Mojokerto" and the Kabupaten)

and with several parts the candidate must also be explained by its context:

    score = match * (0.75 + 0.25 * context)

where context is the share of the other parts (weighted by how well anything matched them)
that an ancestor of the candidate matches: its kecamatan, kab/kota or provinsi for an area,
the kelurahan holding it and that kelurahan's ancestors for a gazetteer entry. So
"Kauman, Mojosari" puts the Kauman in kecamatan Mojosari first, and a street found in the
kelurahan also named in the address beats the kelurahan itself. A whole multi-part query
matching one name ("Balai Desa Sooko") explains every part. Hits are sorted by score
descending, then by code.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

MAX_QUERY_CHARS = 200
MAX_PARTS = 6
# The pg_trgm operator thresholds (similarity 0.3, strict word similarity 0.5) are fixed by
# the search function (migrations 0008, 0010), so that a server setting cannot change recall.
WORD_MATCH_WEIGHT = 0.9  # a name that only contains the query's words scores below an exact one
HINT_MISMATCH_FACTOR = 0.9
UNEXPLAINED_FLOOR = 0.75  # share of the score kept when no other part confirms the candidate
MIN_SCORE = 0.25
# geocode_address accepts a best hit at or above this score: a one-letter slip in a kelurahan
# name scores ~0.55 ("mentikn" -> Mentikan 0.545), an unconfirmed part of a multi-part
# address 0.75; a fragment that is only part of a name ("sari" -> Sarirejo 0.4) stays below.
GEOCODE_MIN_SCORE = 0.45
GAZETTEER_RADIUS_M = 50.0
CANDIDATE_CAP = 50  # per spelling
AREA_LEVELS = frozenset({"provinsi", "kabkota", "kecamatan", "kelurahan"})

# prefix word -> (hint, the prefix spelled out)
PREFIXES: dict[str, tuple[str, str]] = {
    "kel": ("kelurahan", "kelurahan"),
    "kelurahan": ("kelurahan", "kelurahan"),
    "desa": ("kelurahan", "desa"),
    "ds": ("kelurahan", "desa"),
    "kec": ("kecamatan", "kecamatan"),
    "kecamatan": ("kecamatan", "kecamatan"),
    "kab": ("kabupaten", "kabupaten"),
    "kabupaten": ("kabupaten", "kabupaten"),
    "kota": ("kota", "kota"),
    "prov": ("provinsi", "provinsi"),
    "provinsi": ("provinsi", "provinsi"),
    "propinsi": ("provinsi", "provinsi"),
    "jl": ("street", "jalan"),
    "jln": ("street", "jalan"),
    "jalan": ("street", "jalan"),
    "gg": ("street", "gang"),
    "gang": ("street", "gang"),
}
_PART_SEPARATORS = re.compile(r"[,;\n\r|]+")
_RT_RW_PAIR = re.compile(r"\brt\s*[./]?\s*rw\b\s*[.:]?\s*\d+\s*[/.-]\s*\d+")
_RT_OR_RW = re.compile(r"(?<![a-z])(?:rt|rw)\s*[.:]?\s*\d+")
_HOUSE_NUMBER = re.compile(r"\b(?:no|nomor)\s*[.:]?\s*\d+[a-z]?\b")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class PlaceHit:
    name: str
    level: str  # provinsi | kabkota | kecamatan | kelurahan, or the gazetteer kind
    code: str  # the area code, or the gazetteer entry's id
    lat: float
    lon: float
    score: float  # 0..1
    radius_m: float  # accuracy to assume: the area's equal-area radius, 50 m for a gazetteer
    area_code: str | None = None  # the area itself, or the kelurahan holding the entry


@dataclass(frozen=True)
class QueryPart:
    words: str  # the part without its prefix: "mentikan"
    hint: str | None = None  # kelurahan | kecamatan | kabupaten | kota | provinsi | street
    spellings: tuple[str, ...] = ()  # words, "kel mentikan", "kelurahan mentikan"


@dataclass(frozen=True)
class ParsedQuery:
    parts: tuple[QueryPart, ...]
    whole: str | None  # all words of a multi-part query, matched as one name too


def parse_query(query: str) -> ParsedQuery:
    """Normalise a free-text place query into its parts (see the module docstring)."""
    cleaned = query[:MAX_QUERY_CHARS].lower()
    cleaned = _HOUSE_NUMBER.sub(" ", _RT_OR_RW.sub(" ", _RT_RW_PAIR.sub(" ", cleaned)))
    parts: list[QueryPart] = []
    all_words: list[str] = []
    for chunk in _PART_SEPARATORS.split(cleaned):
        words: list[str] = []
        prefix: str | None = None
        previous_was_prefix = False
        for word in _WORD.findall(chunk):
            all_words.append(word)
            if word in PREFIXES and not previous_was_prefix:
                if words:
                    parts.append(_part(words, prefix))
                words, prefix, previous_was_prefix = [], word, True
                continue
            words.append(word)
            previous_was_prefix = False
        if words:
            parts.append(_part(words, prefix))
    # "Jl. Gg." names nothing: a prefix word only counts as a name word next to a real one
    parts = [p for p in parts if not all(w in PREFIXES for w in p.words.split())][:MAX_PARTS]
    whole = " ".join(all_words) if len(parts) > 1 else None
    return ParsedQuery(tuple(parts), whole)


def _part(words: list[str], prefix: str | None) -> QueryPart:
    plain = " ".join(words)
    if prefix is None:
        return QueryPart(plain, None, (plain,))
    hint, spelled = PREFIXES[prefix]
    spellings = tuple(dict.fromkeys((plain, f"{prefix} {plain}", f"{spelled} {plain}")))
    return QueryPart(plain, hint, spellings)


# One statement: the function (migrations 0008, 0010) runs its query with sequential scans off
# and the pg_trgm thresholds fixed, and leaves the session's settings as they were.
_SEARCH = text(
    "SELECT * FROM search_place_candidates("
    "CAST(:terms AS text[]), :word_weight, :cap, :gazetteer_radius)"
)


def search_terms(parsed: ParsedQuery) -> tuple[list[str], list[int]]:
    """The spellings to match and, for each, the index of its part (-1: the whole query)."""
    terms: list[str] = []
    owners: list[int] = []
    for index, part in enumerate(parsed.parts):
        for spelling in part.spellings:
            terms.append(spelling)
            owners.append(index)
    if parsed.whole is not None:
        terms.append(parsed.whole)
        owners.append(-1)
    return terms, owners


async def search_places(session: AsyncSession, query: str, *, limit: int = 10) -> list[PlaceHit]:
    """Areas and gazetteer entries whose names match `query`, best first (see module doc)."""
    parsed = parse_query(query)
    if not parsed.parts or limit <= 0:
        return []
    terms, owners = search_terms(parsed)
    rows = (
        (
            await session.execute(
                _SEARCH,
                {
                    "terms": terms,
                    "word_weight": WORD_MATCH_WEIGHT,
                    "cap": CANDIDATE_CAP,
                    "gazetteer_radius": GAZETTEER_RADIUS_M,
                },
            )
        )
        .mappings()
        .all()
    )
    return rank_candidates(parsed, owners, rows)[:limit]


def _hint_agrees(hint: str | None, level: str, name: str) -> bool:
    if hint is None:
        return True
    lowered = name.lower()
    if hint in ("kelurahan", "kecamatan", "provinsi"):
        return level == hint
    if hint == "kota":
        return level == "kabkota" and not lowered.startswith(("kabupaten", "kab "))
    if hint == "kabupaten":
        return level == "kabkota" and not lowered.startswith("kota")
    return level not in AREA_LEVELS  # street: any gazetteer entry, no area


def rank_candidates(
    parsed: ParsedQuery, owners: Sequence[int], rows: Sequence[Any]
) -> list[PlaceHit]:
    """Score the candidates returned by the search statement; sorted, low scores dropped."""
    n_parts = len(parsed.parts)
    part_match: dict[str, list[float]] = {}
    whole_match: dict[str, float] = {}
    for row in rows:
        per_part = [0.0] * n_parts
        for idx, raw in zip(row["idxs"], row["raws"], strict=True):
            owner = owners[idx - 1]
            if owner < 0:
                whole_match[row["code"]] = max(whole_match.get(row["code"], 0.0), raw)
                continue
            if not _hint_agrees(parsed.parts[owner].hint, row["level"], row["name"]):
                raw *= HINT_MISMATCH_FACTOR
            per_part[owner] = max(per_part[owner], raw)
        part_match[row["code"]] = per_part
    best_per_part = [max((m[j] for m in part_match.values()), default=0.0) for j in range(n_parts)]
    hits: list[PlaceHit] = []
    for row in rows:
        code = row["code"]
        own = part_match[code]
        confirm = [
            max((part_match[a][j] for a in row["ancestors"] if a in part_match), default=0.0)
            for j in range(n_parts)
        ]
        score = whole_match.get(code, 0.0)
        for i in range(n_parts):
            if own[i] <= 0.0:
                continue
            others = [j for j in range(n_parts) if j != i and best_per_part[j] > 0.0]
            if others:
                context = sum(confirm[j] for j in others) / sum(best_per_part[j] for j in others)
            else:
                context = 1.0
            context = min(context, 1.0)
            score = max(score, own[i] * (UNEXPLAINED_FLOOR + (1 - UNEXPLAINED_FLOOR) * context))
        score = round(min(score, 1.0), 6)
        if score < MIN_SCORE:
            continue
        hits.append(
            PlaceHit(
                name=row["name"],
                level=row["level"],
                code=code,
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                score=score,
                radius_m=float(row["radius_m"]),
                area_code=row["area_code"],
            )
        )
    hits.sort(key=lambda h: (-h.score, h.code))
    return hits


async def geocode_address(session: AsyncSession, address: str) -> PlaceHit | None:
    """The best hit for an operator's free-text address, or None below GEOCODE_MIN_SCORE."""
    hits = await search_places(session, address, limit=1)
    if hits and hits[0].score >= GEOCODE_MIN_SCORE:
        return hits[0]
    return None


# --- the gazetteer --------------------------------------------------------------------------


@dataclass(frozen=True)
class GazetteerInput:
    name: str
    kind: str  # landmark | street | ...
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name is empty")
        if not self.kind.strip() or len(self.kind.strip()) > 20:
            raise ValueError(f"kind must be 1 to 20 characters, got {self.kind!r}")
        _check_lat_lon(self.lat, self.lon)


def _check_lat_lon(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"lat must be a finite number in [-90, 90], got {lat!r}")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"lon must be a finite number in [-180, 180], got {lon!r}")


_GAZETTEER_DELETE = text("DELETE FROM gazetteer WHERE name = :name AND kind = :kind")
# The entry's kelurahan; a point on a shared border goes to the smallest code, as in
# geo/areas.py (ST_Covers so a street digitised on a boundary still gets one).
_GAZETTEER_INSERT = text(
    """
    INSERT INTO gazetteer (id, name, kind, area_code, geom)
    SELECT gen_random_uuid(), :name, :kind,
           (SELECT a.code FROM areas a
            WHERE a.level = 'kelurahan' AND ST_Covers(a.geom, p.pt)
            ORDER BY a.code LIMIT 1),
           p.pt
    FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt) p
    """
)


async def load_gazetteer(session: AsyncSession, entries: Iterable[GazetteerInput]) -> int:
    """Upsert by (name, kind): the entries replace any with the same name and kind (the last
    of duplicates in `entries` wins). Returns the number of entries now stored."""
    latest: dict[tuple[str, str], GazetteerInput] = {}
    for entry in entries:
        name, kind = entry.name.strip(), entry.kind.strip()
        latest[(name, kind)] = GazetteerInput(name, kind, entry.lat, entry.lon)
    if not latest:
        return 0
    params = [{"name": e.name, "kind": e.kind, "lat": e.lat, "lon": e.lon} for e in latest.values()]
    await session.execute(
        _GAZETTEER_DELETE, [{"name": p["name"], "kind": p["kind"]} for p in params]
    )
    await session.execute(_GAZETTEER_INSERT, params)
    return len(params)


def read_gazetteer_csv(path: str | Path) -> list[GazetteerInput]:
    """Rows of a UTF-8 CSV with the header name,kind,lat,lon; a bad row raises ValueError
    naming its line (the header is line 1)."""
    entries: list[GazetteerInput] = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("name", "kind", "lat", "lon") if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        for row in reader:
            try:
                entries.append(
                    GazetteerInput(
                        name=_cell(row, "name"),
                        kind=_cell(row, "kind"),
                        lat=_number(row, "lat"),
                        lon=_number(row, "lon"),
                    )
                )
            except ValueError as error:
                raise ValueError(f"{path}: line {reader.line_num}: {error}") from error
    return entries


def _cell(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    if value is None:
        raise ValueError(f"missing value for {column}")
    return str(value).strip()


def _number(row: dict[str, Any], column: str) -> float:
    value = _cell(row, column)
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{column} must be a number, got {value!r}") from None
