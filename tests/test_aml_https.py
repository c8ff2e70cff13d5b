"""AML parsing of the HTTPS form-urlencoded transport: the HMAC (right, wrong, tampered, not
last, missing), duplicate keys, and bad location time and source.

Pure functions only: no database, no fixtures from a conftest.
"""

from datetime import UTC, datetime

from geo.aml import parse_aml
from tests.aml_support import _has_warning, _https, _v1


def test_right_hmac() -> None:
    fix = parse_aml(_https(key=b"siaga112"), hmac_key=b"siaga112")
    assert fix.hmac_ok is True
    assert fix.warnings == ()
    assert fix.caller_number == "+6281234567890"
    assert fix.time_of_positioning_utc == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def test_wrong_hmac_flags_but_keeps_position() -> None:
    fix = parse_aml(_https(key=b"siaga112"), hmac_key=b"another-key")
    assert fix.hmac_ok is False
    assert fix.has_position is True
    assert _has_warning(fix, "HMAC does not match")


def test_tampered_body_fails_hmac() -> None:
    signed = _https(key=b"siaga112")
    fix = parse_aml(signed.replace("-6.20880", "-6.30880"), hmac_key=b"siaga112")
    assert fix.hmac_ok is False and fix.lat == -6.3088


def test_hmac_must_be_the_last_field() -> None:
    fix = parse_aml(_https(key=b"k") + "&location_latitude=1.0", hmac_key=b"k")
    assert fix.hmac_ok is False
    assert _has_warning(fix, "not covered")


def test_missing_hmac_with_a_key_fails_and_without_a_key_is_unchecked() -> None:
    assert parse_aml(_https(), hmac_key=b"k").hmac_ok is False
    assert parse_aml(_https(key=b"k")).hmac_ok is None
    assert parse_aml(_v1(), hmac_key=b"k").hmac_ok is None  # SMS carries no HMAC


def test_https_duplicate_key_after_an_empty_value_is_flagged() -> None:
    fix = parse_aml(_https() + "&cell_carrier=&cell_carrier=Telkomsel&v=1")
    assert fix.has_position is True
    assert _has_warning(fix, "Key 'cell_carrier' appears more than once")
    assert _has_warning(fix, "Key 'v' appears more than once")


def test_https_bad_location_time_and_source() -> None:
    fix = parse_aml(_https(location_time="yesterday", location_source="magic"))
    assert fix.time_of_positioning_utc is None
    assert _has_warning(fix, "Location time (Unix ms) 'yesterday'")
    assert _has_warning(fix, "Unknown location source 'magic'")
