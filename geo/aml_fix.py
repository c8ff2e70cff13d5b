"""The AmlFix value: one parsed AML message, whatever transport it came by.

`geo.aml.parse_aml` builds it; location precedence (geo.locate) and the AML intake read it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AmlFix:
    """One parsed AML message. Field names follow the sample files' `expected` blocks."""

    transport: str
    version: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    time_of_positioning_utc: datetime | None = None
    level_of_confidence_pct: int | None = None
    positioning_method: str | None = None
    imsi: str | None = None
    imei: str | None = None
    mcc: str | None = None  # serving network
    mnc: str | None = None
    home_mcc: str | None = None
    home_mnc: str | None = None
    altitude_m: float | None = None
    vertical_accuracy_m: float | None = None
    floor: str | None = None
    emergency_number: str | None = None  # the number dialled (112), not the caller's
    call_start_epoch_s: int | None = None
    languages: str | None = None
    declared_length_ml: int | None = None
    actual_length: int | None = None
    length_matches: bool | None = None
    caller_number: str | None = None
    hmac_ok: bool | None = None  # None: not checked (no key given, or not HTTPS)
    has_position: bool = False
    warnings: tuple[str, ...] = ()

    # Aliases under the HTTPS / ELS v2 names used by the samples; one value, two names.
    @property
    def network_mcc(self) -> str | None:
        return self.mcc

    @property
    def network_mnc(self) -> str | None:
        return self.mnc

    @property
    def location_time_utc(self) -> datetime | None:
        return self.time_of_positioning_utc

    @property
    def device_number(self) -> str | None:
        return self.caller_number

    @property
    def hmac_valid(self) -> bool | None:
        return self.hmac_ok

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of every field and alias; times as ISO 8601 with a `Z`."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        for alias in ("network_mcc", "network_mnc", "location_time_utc", "device_number"):
            out[alias] = getattr(self, alias)
        out["hmac_valid"] = self.hmac_ok
        out["warnings"] = list(self.warnings)
        for key, value in out.items():
            if isinstance(value, datetime):
                spec = "milliseconds" if value.microsecond else "seconds"
                out[key] = value.isoformat(timespec=spec).replace("+00:00", "Z")
        return out
