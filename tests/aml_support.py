"""Shared by the AML parser tests (tests/test_aml_*.py): the published samples, and builders
of well-formed v1 SMS, HTTPS form bodies and GSM 7-bit packed data SMS.

Samples: tests/data/aml_samples.json (copied from shared/specs/aml; licences beside it).
"""

import hashlib
import hmac
import json
from pathlib import Path

from geo.aml_fix import AmlFix

SAMPLES = json.loads((Path(__file__).parent / "data" / "aml_samples.json").read_text("utf-8"))[
    "samples"
]
BY_ID = {sample["id"]: sample for sample in SAMPLES}


def _v1(ml: int | None = None, **overrides: str | None) -> str:
    """A well-formed v1 SMS located in Jakarta; overrides replace fields (None drops one)."""
    fields = {
        "lt": "-6.20880", "lg": "+106.84560", "rd": "25", "top": "20261123083000", "lc": "68",
        "pm": "G", "si": "510100000000000", "ei": "356938035643809", "mcc": "510", "mnc": "10",
    }  # fmt: skip
    fields.update(overrides)
    body = 'A"ML=1;' + ";".join(f"{k}={v}" for k, v in fields.items() if v is not None) + ";ml="
    if ml is None:  # the length includes the digits of ml itself
        ml = len(body) + 2
        while len(body + str(ml)) != ml:
            ml = len(body + str(ml))
    return body + str(ml)


def _https(key: bytes | None = None, **overrides: str) -> str:
    fields = {
        "v": "1", "device_number": "%2B6281234567890", "location_latitude": "-6.20880",
        "location_longitude": "106.84560", "location_time": "1795422600000",
        "location_accuracy": "12.5", "location_source": "gps", "location_certainty": "68",
    }  # fmt: skip
    fields.update(overrides)
    body = "&".join(f"{k}={v}" for k, v in fields.items())
    if key is None:
        return body
    return body + "&hmac=" + hmac.new(key, body.encode(), hashlib.sha1).hexdigest()


def _gsm7_pack(text: str) -> bytes:
    """Test-side packer for AML's alphabet (ASCII letters, digits, `";=.,+-` map 1:1)."""
    return _gsm7_pack_septets([ord(char) for char in text])


def _gsm7_pack_septets(septets: list[int]) -> bytes:
    bits = n_bits = 0
    out = bytearray()
    for septet in septets:
        bits |= septet << n_bits
        n_bits += 7
        while n_bits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            n_bits -= 8
    if n_bits:
        out.append((bits | (0x0D << 1 if n_bits == 1 else 0)) & 0xFF)  # CR fill, TS 23.038
    return bytes(out)


def _has_warning(fix: AmlFix, fragment: str) -> bool:
    return any(fragment.lower() in warning.lower() for warning in fix.warnings)
