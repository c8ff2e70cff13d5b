"""Administrative areas as plain values: Kemendagri codes and levels, `Area` rows, and the
`AreaMatch` answer of a reverse-geocoding lookup (geo.areas).

A Kemendagri code has one dotted part per level (PP.KK.CC.DDDD: provinsi, kab/kota,
kecamatan, kelurahan/desa), so a code alone gives its level and its parent's code.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry

LEVELS = ("provinsi", "kabkota", "kecamatan", "kelurahan")
_LEVEL_BY_DEPTH = {i + 1: level for i, level in enumerate(LEVELS)}


def parent_code(code: str) -> str | None:
    """The code minus its last dotted part ("35.76.01" -> "35.76"); None for a provinsi."""
    head, sep, _ = code.rpartition(".")
    return head if sep else None


def level_of_code(code: str) -> str:
    """The level implied by the number of dotted parts of a Kemendagri code."""
    parts = code.split(".")
    if not all(parts) or len(parts) not in _LEVEL_BY_DEPTH:
        raise ValueError(f"not a Kemendagri area code: {code!r}")
    return _LEVEL_BY_DEPTH[len(parts)]


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str  # "provinsi" | "kabkota" | "kecamatan" | "kelurahan" (desa included)
    parent_code: str | None
    geometry: BaseGeometry | None = None


@dataclass(frozen=True, slots=True)
class AreaRef:
    code: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name}


@dataclass(frozen=True, slots=True)
class AreaMatch:
    kelurahan: AreaRef
    kecamatan: AreaRef
    kabkota: AreaRef
    provinsi: AreaRef
    # False when the point fell in a sliver gap and the nearest kelurahan within tolerance
    # was taken.
    exact: bool

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {
            "kelurahan": self.kelurahan.to_dict(),
            "kecamatan": self.kecamatan.to_dict(),
            "kabkota": self.kabkota.to_dict(),
            "provinsi": self.provinsi.to_dict(),
        }
