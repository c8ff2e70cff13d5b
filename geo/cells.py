"""Serving cell → approximate position, from the `cell_towers` table the admin loads.

A cell is identified by MCC (country, 510 for Indonesia), MNC (network), LAC/TAC (area)
and the cell id; the table gives the cell's position and a radius covering its footprint.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# lac holds a 16-bit LAC or a 24-bit TAC; cid is bigint so a 36-bit 5G NR cell id fits.
MAX_LAC = 0xFFFFFF
MAX_CID = 2**36 - 1
CSV_COLUMNS = ("mcc", "mnc", "lac", "cid", "lat", "lon", "radius_m")
BATCH_SIZE = 1000
_MCC = re.compile(r"[0-9]{3}")
_MNC = re.compile(r"[0-9]{2,3}")
_UNSIGNED = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class CellFix:
    lat: float
    lon: float
    radius_m: float
    mcc: int
    mnc: int
    lac: int
    cid: int


@dataclass(frozen=True)
class CellTowerInput:
    mcc: int
    mnc: int
    lac: int
    cid: int
    lat: float
    lon: float
    radius_m: float

    def __post_init__(self) -> None:
        if not 0 <= self.mcc <= 999:
            raise ValueError(f"mcc must have 3 digits, got {self.mcc!r}")
        if not 0 <= self.mnc <= 999:
            raise ValueError(f"mnc must have 2 or 3 digits, got {self.mnc!r}")
        if not 0 <= self.lac <= MAX_LAC:
            raise ValueError(f"lac must be in [0, {MAX_LAC}], got {self.lac!r}")
        if not 0 <= self.cid <= MAX_CID:
            raise ValueError(f"cid must be in [0, {MAX_CID}], got {self.cid!r}")
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ValueError(f"lat must be a finite number in [-90, 90], got {self.lat!r}")
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"lon must be a finite number in [-180, 180], got {self.lon!r}")
        if not (math.isfinite(self.radius_m) and self.radius_m > 0.0):
            raise ValueError(f"radius_m must be a finite number > 0, got {self.radius_m!r}")


_LOCATE = text(
    """
    SELECT ST_Y(geom) AS lat, ST_X(geom) AS lon, radius_m
    FROM cell_towers
    WHERE mcc = :mcc AND mnc = :mnc AND lac = :lac AND cid = :cid
    """
)


async def locate_cell(
    session: AsyncSession, mcc: int, mnc: int, lac: int, cid: int
) -> CellFix | None:
    """The position of a serving cell, or None when the cell is not in the table (a value
    that cannot be in it, negative or beyond the integer columns, is simply not found)."""
    key = {"mcc": int(mcc), "mnc": int(mnc), "lac": int(lac), "cid": int(cid)}
    if not all(0 <= value <= MAX_CID for value in key.values()):
        return None
    row = (await session.execute(_LOCATE, key)).one_or_none()
    if row is None:
        return None
    return CellFix(
        lat=float(row.lat),
        lon=float(row.lon),
        radius_m=float(row.radius_m),
        mcc=int(mcc),
        mnc=int(mnc),
        lac=int(lac),
        cid=int(cid),
    )


_UPSERT = text(
    """
    INSERT INTO cell_towers (mcc, mnc, lac, cid, geom, radius_m)
    VALUES (:mcc, :mnc, :lac, :cid, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :radius_m)
    ON CONFLICT (mcc, mnc, lac, cid) DO UPDATE
    SET geom = EXCLUDED.geom, radius_m = EXCLUDED.radius_m
    """
)


async def load_cell_towers(session: AsyncSession, rows: Iterable[CellTowerInput]) -> int:
    """Insert or update the towers (keyed on mcc, mnc, lac, cid); returns the rows written.
    A cell listed twice ends with its last position."""
    batch: list[dict[str, float | int]] = []
    written = 0
    for row in rows:
        batch.append(
            {
                "mcc": row.mcc,
                "mnc": row.mnc,
                "lac": row.lac,
                "cid": row.cid,
                "lat": row.lat,
                "lon": row.lon,
                "radius_m": row.radius_m,
            }
        )
        if len(batch) == BATCH_SIZE:
            await session.execute(_UPSERT, batch)
            written += len(batch)
            batch = []
    if batch:
        await session.execute(_UPSERT, batch)
        written += len(batch)
    return written


def read_cell_csv(path: str | Path) -> list[CellTowerInput]:
    """Rows of a CSV with the header mcc,mnc,lac,cid,lat,lon,radius_m. A bad row raises
    ValueError naming its line (the header is line 1)."""
    towers: list[CellTowerInput] = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        for row in reader:
            try:
                towers.append(_parse_row(row))
            except ValueError as error:
                raise ValueError(f"{path}: line {reader.line_num}: {error}") from error
    return towers


def _parse_row(row: dict[str, str | None]) -> CellTowerInput:
    values = {column: (row.get(column) or "").strip() for column in CSV_COLUMNS}
    if not _MCC.fullmatch(values["mcc"]):
        raise ValueError(f"mcc must be 3 digits, got {values['mcc']!r}")
    if not _MNC.fullmatch(values["mnc"]):
        raise ValueError(f"mnc must be 2 or 3 digits, got {values['mnc']!r}")
    for column in ("lac", "cid"):
        if not _UNSIGNED.fullmatch(values[column]):
            raise ValueError(f"{column} must be a non-negative integer, got {values[column]!r}")
    return CellTowerInput(
        mcc=int(values["mcc"]),
        mnc=int(values["mnc"]),
        lac=int(values["lac"]),
        cid=int(values["cid"]),
        lat=_number(values, "lat"),
        lon=_number(values, "lon"),
        radius_m=_number(values, "radius_m"),
    )


def _number(values: dict[str, str], column: str) -> float:
    try:
        return float(values[column])
    except ValueError:
        raise ValueError(f"{column} must be a number, got {values[column]!r}") from None
